"""Messages left through the dialplan's fallback become calls in the store, once, and are handed to
the listeners (the voicemail list) until they took them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from callcore.calls import queries
from callcore.calls import events as ev
from callcore.calls.fallback import FallbackImporter, ImportedMessage, read_message
from callcore.calls.journal import CallJournal
from callcore.store.db import Database

LEFT_AT = datetime(2026, 11, 24, 2, 0, 5, tzinfo=timezone.utc)


def message(mailbox: Path, n: int, *, callerid: str, at: datetime = LEFT_AT, duration: int = 7, folder: str = "INBOX") -> Path:
    """A message file as Asterisk 16's app_voicemail writes it."""
    path = mailbox / folder / f"msg{n:04d}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        ";\n; Message Information file\n;\n[message]\norigmailbox=96881\ncontext=from-trunk\nmacrocontext=\nexten=96881\n"
        f"rdnis=unknown\npriority=9\ncallerchan=PJSIP/citizen-trunk-0000000{n}\ncallerid={callerid}\n"
        f"origdate=Tue Nov 24 02:00:05 AM UTC 2026\norigtime={int(at.timestamp())}\ncategory=\n"
        f"msg_id={int(at.timestamp())}-0000000{n}\nflag=\nduration={duration}\n",
        encoding="utf-8",
    )
    return path


async def drained(journal: CallJournal, importer: FallbackImporter) -> int:
    task = asyncio.create_task(journal.run())
    try:
        n = await importer.run()
        await asyncio.wait_for(journal.wait_idle(), 10)
        return n
    finally:
        task.cancel()


def test_message_file_is_read_with_the_callers_number_and_name(tmp_path: Path) -> None:
    m = read_message(message(tmp_path, 1, callerid='"张三" <13922220005>'))
    assert (m.caller_number, m.caller_name, m.seconds, m.left_at) == ("13922220005", "张三", 7, LEFT_AT)
    assert m.recording == tmp_path / "INBOX" / "msg0001" and m.channel == "PJSIP/citizen-trunk-00000001"


async def test_a_message_left_while_the_daemon_was_away_is_a_call_written_once(db: Database, tmp_path: Path) -> None:
    mailbox = tmp_path / "mailbox"
    message(mailbox, 0, callerid='"13922220005" <13922220005>')
    message(mailbox, 1, callerid="<13922220006>", folder="Old", at=LEFT_AT + timedelta(minutes=1))
    (mailbox / "INBOX" / "msg0002.txt").write_text("not a message\n", encoding="utf-8")
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    assert await drained(journal, FallbackImporter(db, journal, mailbox, hotline="96881")) == 2
    [call], total = await queries.list_calls(db, queries.CallFilter(caller="13922220005"))
    assert total == 1 and (await queries.list_calls(db, queries.CallFilter(caller="13922220006")))[1] == 1
    found = await queries.get_call(db, call.id)
    assert found is not None
    row, events = found
    assert [e.type for e in events] == [ev.ARRIVED, ev.ANSWERED, ev.VOICEMAIL_LEFT, ev.ENDED]
    assert (row.status, row.stage, row.loss_stage, row.caller_name) == ("ended", "voicemail", None, "")
    # The classifier's answer for any message left (outcomes.py): not lost, whoever chose it.
    assert row.outcome == "left_by_choice"
    assert row.ended_at == LEFT_AT + timedelta(seconds=7)
    assert events[2].data["recording"].endswith("INBOX/msg0000") and events[2].data["via"] == "fallback"
    # A restarted daemon (a new importer) finds both in the store and writes nothing.
    again = CallJournal(db, tmp_path / "spool2.jsonl")
    assert await drained(again, FallbackImporter(db, again, mailbox, hotline="96881")) == 0


async def test_a_message_after_a_hand_off_joins_the_call_that_was_handed_off(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "1.1", "caller_number": "13922220007"}, at=LEFT_AT - timedelta(seconds=30))
    journal.emit(cid, ev.HANDED_OFF, {"context": "from-trunk"}, at=LEFT_AT - timedelta(seconds=20))
    journal.emit(cid, ev.ENDED, {"by": "system"}, at=LEFT_AT - timedelta(seconds=20))
    mailbox = tmp_path / "mailbox"
    await drained(journal, FallbackImporter(db, journal, mailbox, hotline="96881"))
    handed = await queries.get_call(db, cid)
    assert handed is not None and (handed[0].outcome, handed[0].loss_stage) == ("closed_by_system", "system")
    message(mailbox, 3, callerid="<13922220007>")
    assert await drained(journal, FallbackImporter(db, journal, mailbox, hotline="96881")) == 1
    found = await queries.get_call(db, cid)
    assert found is not None
    assert [e.type for e in found[1]][-1] == ev.VOICEMAIL_LEFT
    # Handed back to the dialplan it was the system's doing; the message that came of it, imported
    # after the call ended, changes the outcome: the caller is to be called back, not lost.
    assert (found[0].outcome, found[0].loss_stage) == ("left_by_choice", None)
    assert await queries.get_call(db, read_message(mailbox / "INBOX" / "msg0003.txt").call_id) is None


class Listener:
    """Keeps what each import handed it; fails the first ``fail`` times."""

    def __init__(self, *, fail: int = 0) -> None:
        self.batches: list[list[ImportedMessage]] = []
        self.fail = fail

    async def __call__(self, imported: Sequence[ImportedMessage]) -> None:
        self.batches.append(list(imported))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("listener broke")


async def test_listeners_get_every_message_with_its_call_new_or_imported_before(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    handed = journal.new_call_id()
    journal.emit(handed, ev.ARRIVED, {"channel_id": "1.2", "caller_number": "13922220008"}, at=LEFT_AT - timedelta(seconds=30))
    journal.emit(handed, ev.HANDED_OFF, {"context": "from-trunk"}, at=LEFT_AT - timedelta(seconds=20))
    journal.emit(handed, ev.ENDED, {"by": "system"}, at=LEFT_AT - timedelta(seconds=20))
    mailbox = tmp_path / "mailbox"
    message(mailbox, 4, callerid="<13922220008>")
    # Imported by a daemon that had no listener (before voicemails joined the list).
    assert await drained(journal, FallbackImporter(db, journal, mailbox, hotline="96881")) == 1
    message(mailbox, 5, callerid="<13922220009>", at=LEFT_AT + timedelta(minutes=2))
    importer, listener = FallbackImporter(db, journal, mailbox, hotline="96881"), Listener()
    importer.add_listener(listener)
    assert await drained(journal, importer) == 1
    [batch] = listener.batches
    by_number = {i.message.caller_number: i for i in batch}
    assert by_number["13922220008"].call_id == handed  # brought before: handed again, with the call it joined
    new = by_number["13922220009"]
    assert new.call_id == new.message.call_id and new.mailbox == "96881@callcore"
    assert await queries.get_call(db, new.call_id) is not None  # written before the listeners were told
    # Told once per daemon: the next import hands nothing.
    assert await drained(journal, importer) == 0 and len(listener.batches) == 1


async def test_a_failing_listener_gets_the_messages_again_at_the_next_import_and_no_call_is_written_twice(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mailbox = tmp_path / "mailbox"
    message(mailbox, 6, callerid="<13922220010>")
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    importer, broken, fine = FallbackImporter(db, journal, mailbox, hotline="96881"), Listener(fail=1), Listener()
    importer.add_listener(broken)
    importer.add_listener(fine)
    assert await drained(journal, importer) == 1
    assert "listener broke" in caplog.text and len(fine.batches) == 1  # the other listener still ran
    assert await drained(journal, importer) == 0
    assert [len(b) for b in broken.batches] == [1, 1] and [len(b) for b in fine.batches] == [1, 1]
    assert (await queries.list_calls(db, queries.CallFilter(caller="13922220010")))[1] == 1
    assert await drained(journal, importer) == 0 and len(broken.batches) == 2


async def test_imports_run_one_at_a_time(db: Database, tmp_path: Path) -> None:
    mailbox = tmp_path / "mailbox"
    message(mailbox, 7, callerid="<13922220011>")
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    importer, listener = FallbackImporter(db, journal, mailbox, hotline="96881"), Listener()
    importer.add_listener(listener)
    task = asyncio.create_task(journal.run())
    try:
        counts = await asyncio.gather(importer.run(), importer.run())
        await asyncio.wait_for(journal.wait_idle(), 10)
    finally:
        task.cancel()
    assert sorted(counts) == [0, 1] and len(listener.batches) == 1
    assert (await queries.list_calls(db, queries.CallFilter(caller="13922220011")))[1] == 1
