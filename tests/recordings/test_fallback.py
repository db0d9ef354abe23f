"""Messages the dialplan's fallback took join the voicemail list (T-10): each one a voicemail row
linked to its call, its file copied and measured like the daemon's own messages, marked when too
short or silent, told to the voicemail listeners once; importing the mailbox again adds nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from callcore.calls.fallback import FallbackImporter, ImportedMessage, read_message
from callcore.calls.journal import CallJournal
from callcore.config import RecordingSettings
from callcore.core.identity import AGENT, Principal
from callcore.recordings.fallback import FallbackVoicemails, recording_id, release
from callcore.recordings.models import DONE, SILENT, TOO_SHORT, VOICEMAIL, Recording
from callcore.recordings.services import RecordingService, VoicemailFilter
from callcore.recordings.voicemail import Voicemail, VoicemailLeft
from callcore.store.db import Database
from tests.calls.test_fallback import LEFT_AT, drained, message
from tests.recordings.helpers import write_wav
from tests.recordings.test_voicemail import write_silence

AN_AGENT = Principal(user_id="u-agent", name="坐席", role=AGENT)


def voicemail(db: Database, directory: Path, heard: list[VoicemailLeft]) -> Voicemail:
    vm = Voicemail(db=db, directory=directory, sounds_dir=directory,
                   settings=RecordingSettings())

    async def listen(left: VoicemailLeft) -> None:
        heard.append(left)

    vm.add_listener(listen)
    return vm


def left(mailbox: Path, n: int, *, seconds: float | None, silent: bool = False, **kw: object) -> ImportedMessage:
    """A message file and its audio as app_voicemail writes them (``format = wav``), imported as call ``call-<n>``."""
    meta = message(mailbox, n, **kw)  # type: ignore[arg-type]
    if seconds is not None:
        (write_silence if silent else write_wav)(meta.with_suffix(".wav"), seconds)
    return ImportedMessage(message=read_message(meta), call_id=f"call-{n}", mailbox="96881@callcore")


async def rows(db: Database) -> dict[str, Recording]:
    async with db.session() as s:
        return {r.call_id: r for r in await s.scalars(select(Recording))}


async def test_each_message_is_a_voicemail_row_of_its_call_copied_measured_and_marked(db: Database, tmp_path: Path) -> None:
    mailbox, recordings = tmp_path / "mailbox", tmp_path / "recording"
    heard: list[VoicemailLeft] = []
    batch = [left(mailbox, 0, seconds=4.0, callerid='"张三" <13922220021>'),
             left(mailbox, 1, seconds=0.6, callerid="<13922220022>", at=LEFT_AT + timedelta(minutes=1)),
             left(mailbox, 2, seconds=4.0, silent=True, callerid="<13922220023>", folder="Old")]
    audio_of = (mailbox / "INBOX" / "msg0000.wav").read_bytes()
    listener = FallbackVoicemails(db=db, directory=recordings, voicemail=voicemail(db, recordings, heard))
    await listener(batch)
    found = await rows(db)
    spoken = found["call-0"]
    assert spoken.id == recording_id(batch[0].message.msg_id)
    assert (spoken.kind, spoken.mailbox, spoken.status, spoken.missing, spoken.quality, spoken.queue) == (
        VOICEMAIL, "96881@callcore", DONE, False, None, None)
    assert (spoken.started_at, spoken.ended_at) == (LEFT_AT, LEFT_AT + timedelta(seconds=7))
    copy = Path(spoken.path)
    assert copy.parent == recordings and copy.suffix == ".wav" and copy.read_bytes() == audio_of
    # The copy is the message now: the mailbox keeps nothing (retention deletes it; the mailbox never fills).
    assert sorted(p.name for p in mailbox.rglob("*") if p.is_file()) == []
    assert spoken.duration == pytest.approx(4.0) and spoken.size == copy.stat().st_size and spoken.sha256
    assert (found["call-1"].quality, found["call-2"].quality) == (TOO_SHORT, SILENT)  # kept, marked
    assert [(h.call_id, h.caller_number, h.mailbox, h.queue, h.recording_id, h.quality) for h in heard] == [
        ("call-0", "13922220021", "96881@callcore", None, spoken.id, None),
        ("call-1", "13922220022", "96881@callcore", None, found["call-1"].id, TOO_SHORT),
        ("call-2", "13922220023", "96881@callcore", None, found["call-2"].id, SILENT)]
    assert heard[0].at == LEFT_AT
    # Listed with the daemon's own messages, for agents.
    listed, total = await RecordingService(db, settings=RecordingSettings()).voicemails(AN_AGENT, VoicemailFilter())
    assert total == 3 and listed[-1].row.call_id == "call-1" and not any(x.missing for x in listed)  # oldest first
    # The next import (a restart) hands the same messages again: nothing is added, nobody told twice.
    await FallbackVoicemails(db=db, directory=recordings, voicemail=voicemail(db, recordings, heard))(batch)
    assert len(await rows(db)) == 3 and len(heard) == 3


async def test_a_message_without_its_audio_file_is_listed_missing_and_still_told(db: Database, tmp_path: Path) -> None:
    heard: list[VoicemailLeft] = []
    item = left(tmp_path / "mailbox", 3, seconds=None, callerid="<13922220024>")
    await FallbackVoicemails(db=db, directory=tmp_path / "rec", voicemail=voicemail(db, tmp_path / "rec", heard))([item])
    row = (await rows(db))["call-3"]
    assert (row.kind, row.missing, row.duration, row.error) == (VOICEMAIL, True, None,
                                                                "message file not found in the fallback mailbox")
    [listed], _ = await RecordingService(db, settings=RecordingSettings()).voicemails(AN_AGENT, VoicemailFilter())
    assert listed.missing and [h.recording_id for h in heard] == [row.id]


async def test_a_failing_voicemail_listener_loses_no_message(db: Database, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    heard: list[VoicemailLeft] = []
    vm = Voicemail(db=db, directory=tmp_path, sounds_dir=tmp_path,
                   settings=RecordingSettings())

    async def broken(left: VoicemailLeft) -> None:
        raise RuntimeError("callbacks down")

    async def listen(left: VoicemailLeft) -> None:
        heard.append(left)

    vm.add_listener(broken)
    vm.add_listener(listen)
    item = left(tmp_path / "mailbox", 4, seconds=3.0, callerid="<13922220025>")
    await FallbackVoicemails(db=db, directory=tmp_path / "rec", voicemail=vm)([item])
    assert "callbacks down" in caplog.text and "13922220025" not in caplog.text
    assert len(heard) == 1 and (await rows(db))["call-4"].status == DONE


async def test_the_fallback_import_brings_its_messages_into_the_voicemail_list(db: Database, tmp_path: Path) -> None:
    """The two halves wired as the plugins wire them: a message left while the daemon was away is a
    call, and that call's voicemail in the list; a restarted daemon imports nothing twice."""
    mailbox, recordings = tmp_path / "mailbox", tmp_path / "recording"
    heard: list[VoicemailLeft] = []
    meta = message(mailbox, 5, callerid="<13922220026>")
    write_wav(meta.with_suffix(".wav"), 3.0)
    call_id = read_message(meta).call_id
    for restart in range(2):
        journal = CallJournal(db, tmp_path / f"spool{restart}.jsonl")
        importer = FallbackImporter(db, journal, mailbox, hotline="96881")
        importer.add_listener(FallbackVoicemails(db=db, directory=recordings, voicemail=voicemail(db, recordings, heard)))
        assert await drained(journal, importer) == (1 - restart)
    [row] = (await rows(db)).values()
    assert row.call_id == call_id and row.quality is None and len(heard) == 1 and not meta.exists()
    assert heard[0].call_id == row.call_id and heard[0].caller_number == "13922220026"


def test_a_message_leaves_the_mailbox_only_when_its_file_is_the_one_copied(tmp_path: Path) -> None:
    from callcore.recordings.audio import sha256_of

    item = left(tmp_path / "mailbox", 6, seconds=2.0, callerid="<13922220027>")
    m = item.message
    wav, meta = m.recording.with_suffix(".wav"), m.recording.with_suffix(".txt")
    sha256 = sha256_of(wav)
    assert not release(m.recording, m.msg_id, "0" * 64)  # not the audio stored
    assert not release(m.recording, "another-message", sha256)  # the slot holds another message
    assert wav.exists() and meta.exists()
    assert release(m.recording, m.msg_id, sha256)
    assert not wav.exists() and not meta.exists()
    assert not release(m.recording, m.msg_id, sha256)  # gone already: nothing to do


async def test_a_message_stored_by_an_earlier_import_leaves_the_mailbox_at_the_next(db: Database, tmp_path: Path) -> None:
    """A daemon stopped between storing a row and removing its message: the next import removes it,
    and adds nothing; a file that changed since is kept (and the row is not replaced)."""
    mailbox, recordings = tmp_path / "mailbox", tmp_path / "recording"
    heard: list[VoicemailLeft] = []
    first, second = (left(mailbox, 7, seconds=2.0, callerid="<13922220028>"),
                     left(mailbox, 8, seconds=2.0, callerid="<13922220029>"))
    keep = {p: p.read_bytes() for p in mailbox.rglob("*") if p.is_file()}
    await FallbackVoicemails(db=db, directory=recordings, voicemail=voicemail(db, recordings, heard))([first, second])
    for path, data in keep.items():  # as if nothing had been removed
        path.write_bytes(data)
    write_wav(second.message.recording.with_suffix(".wav"), 3.0)  # changed since it was copied
    await FallbackVoicemails(db=db, directory=recordings, voicemail=voicemail(db, recordings, heard))([first, second])
    assert not first.message.recording.with_suffix(".txt").exists()
    assert second.message.recording.with_suffix(".txt").exists()
    assert len(await rows(db)) == 2 and len(heard) == 2
