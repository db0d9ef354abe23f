"""Taking a message (T-10) against a fake ARI: the beep, the recording on the caller's channel, the
thanks and the hang-up; every message stored (marked when too short or silent), a hang-up while
speaking keeps it, and a message with audio is the call's ``voicemail_left``."""

from __future__ import annotations

import asyncio
import math
import wave
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcore.ari.errors import AriError
from callcore.calls import events as ev
from callcore.calls.session import CallSession
from callcore.config import RecordingSettings
from callcore.recordings import voicemail as vm
from callcore.recordings.models import DONE, FAILED, SILENT, TOO_SHORT, VOICEMAIL, Recording
from callcore.recordings.voicemail import THANKS_TEXT, Voicemail, VoicemailLeft, quality_of
from callcore.store.db import Database
from tests.recordings.helpers import write_open_wav, write_wav


def write_silence(path: Path, seconds: float, *, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))


class FakeAri:
    """Plays at once; a recording ends as ``ending`` says: "key" (the caller keyed #), "hangup" (the
    caller left while speaking), "failed" (RecordingFailed) or "refused" (the request is refused)."""

    def __init__(self, directory: Path, *, ending: str = "key", seconds: float = 4.0, silent: bool = False) -> None:
        self.directory = directory
        self.ending = ending
        self.seconds = seconds
        self.silent = silent
        self.session: CallSession | None = None
        self.played: list[list[str]] = []
        self.recorded: list[tuple[str, dict[str, Any]]] = []
        self.hangups: list[str] = []

    async def play(self, channel_id: str, media: list[str], *, playback_id: str) -> None:
        self.played.append(media)
        assert self.session is not None
        asyncio.get_running_loop().call_soon(self.session.on_playback_finished, playback_id)

    async def start_silence(self, channel_id: str) -> None:
        pass

    async def stop_playback(self, playback_id: str) -> None:
        pass

    async def record_channel(self, channel_id: str, name: str, **kw: Any) -> dict[str, Any]:
        self.recorded.append((name, kw))
        if self.ending == "refused":
            raise AriError(422, "Channel not in Stasis application", method="POST", path=f"channels/{channel_id}/record")
        path = self.directory / f"{name}.wav"
        (write_silence if self.silent else write_wav)(path, self.seconds)
        s = self.session
        assert s is not None
        loop = asyncio.get_running_loop()
        if self.ending == "hangup":
            # Asterisk closes the file (writes the header's sizes) just after the channel is gone.
            write_open_wav(path, self.seconds)
            loop.call_soon(lambda: s.on_hangup(cause=16, cause_text="Normal Clearing"))
            loop.call_later(0.05, (write_silence if self.silent else write_wav), path, self.seconds)
        else:
            loop.call_soon(lambda: s.on_recording_ended(name, failed=self.ending == "failed", cause="disk full"))
        return {"name": name, "state": "recording", "target_uri": f"channel:{channel_id}"}

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hangups.append(reason)


class Timeline:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, call_id: str, type_: str, data: dict[str, Any] | None = None) -> None:
        self.events.append((type_, data or {}))

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == type_]


@pytest.fixture(autouse=True)
def spoken(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    async def prompt(text: str, sounds_dir: Path) -> Path:
        return tmp_path / "tts" / f"said-{text}"

    monkeypatch.setattr(vm, "ensure_prompt", prompt)


def setup(db: Database, tmp_path: Path, **kw: Any) -> tuple[Voicemail, CallSession, FakeAri, Timeline]:
    ari, timeline = FakeAri(tmp_path, **kw), Timeline()
    session = CallSession(ari=ari, journal=timeline, call_id="call-1", channel_id="chan-1",  # type: ignore[arg-type]
                          caller_number="13971110000")
    ari.session = session
    voicemail = Voicemail(db=db, directory=tmp_path, sounds_dir=tmp_path, settings=RecordingSettings(),
                          close_timeout=1.0)
    return voicemail, session, ari, timeline


async def rows(db: Database) -> list[Recording]:
    async with db.session() as s:
        return list(await s.scalars(select(Recording)))


def test_a_message_is_marked_too_short_or_silent_but_a_spoken_one_is_not() -> None:
    assert quality_of(1.2, -20.0) == TOO_SHORT
    assert quality_of(4.0, -math.inf) == SILENT
    assert quality_of(4.0, -62.0) == SILENT
    assert quality_of(4.0, -25.0) is None


async def test_a_message_ended_by_the_key_is_stored_the_caller_thanked_and_hung_up(db: Database, tmp_path: Path) -> None:
    voicemail, session, ari, timeline = setup(db, tmp_path)
    rec_id = await voicemail.take(session, mailbox="general")
    [(name, params)] = ari.recorded
    assert params == {"fmt": "wav", "if_exists": "fail", "beep": False, "terminate_on": "#", "max_duration": 120,
                      "max_silence": 5}
    assert ari.played == [["sound:beep"], [f"sound:{tmp_path / 'tts' / f'said-{THANKS_TEXT}'}"]]
    assert ari.hangups == ["normal"]
    [row] = await rows(db)
    assert (row.id, row.call_id, row.kind, row.mailbox, row.status, row.missing, row.quality, row.handled_at) == (
        rec_id, "call-1", VOICEMAIL, "general", DONE, False, None, None)
    assert row.name == name and row.path == str(tmp_path / f"{name}.wav")
    assert row.duration == pytest.approx(4.0) and row.size and row.sha256
    assert timeline.of(ev.VOICEMAIL_LEFT) == [{"mailbox": "general", "recording": rec_id, "seconds": row.duration}]


async def test_a_queue_timeout_speaks_its_prompt_before_the_beep(db: Database, tmp_path: Path) -> None:
    voicemail, session, ari, _ = setup(db, tmp_path)
    await voicemail.take(session, mailbox="general", prompt="请留言。", queue="general")
    assert ari.played[:2] == [[f"sound:{tmp_path / 'tts' / 'said-请留言。'}"], ["sound:beep"]]
    [row] = await rows(db)
    assert row.queue == "general"


async def test_a_caller_hanging_up_while_speaking_still_leaves_the_message(db: Database, tmp_path: Path) -> None:
    voicemail, session, ari, timeline = setup(db, tmp_path, ending="hangup")
    rec_id = await voicemail.take(session, mailbox="general")
    assert ari.played == [["sound:beep"]] and ari.hangups == []  # no thanks to a caller who left
    [row] = await rows(db)
    assert (row.id, row.status, row.missing, row.quality) == (rec_id, DONE, False, None)
    assert [d["recording"] for d in timeline.of(ev.VOICEMAIL_LEFT)] == [rec_id]


async def test_too_short_and_silent_messages_are_kept_and_marked(db: Database, tmp_path: Path) -> None:
    voicemail, session, _, timeline = setup(db, tmp_path, seconds=0.8)
    await voicemail.take(session, mailbox="general")
    voicemail2, session2, _, timeline2 = setup(db, tmp_path, silent=True)
    session2.call_id = "call-2"
    await voicemail2.take(session2, mailbox="general")
    marks = {r.call_id: r.quality for r in await rows(db)}
    assert marks == {"call-1": TOO_SHORT, "call-2": SILENT}
    assert timeline.of(ev.VOICEMAIL_LEFT)[0]["quality"] == TOO_SHORT
    assert timeline2.of(ev.VOICEMAIL_LEFT)[0]["quality"] == SILENT


async def test_a_recording_asterisk_refuses_is_a_failed_row_and_no_message(db: Database, tmp_path: Path) -> None:
    voicemail, session, ari, timeline = setup(db, tmp_path, ending="refused")
    assert await voicemail.take(session, mailbox="general") is None
    [row] = await rows(db)
    assert (row.status, row.missing, row.kind) == (FAILED, True, VOICEMAIL) and row.error
    assert not timeline.of(ev.VOICEMAIL_LEFT) and ari.hangups == ["normal"]
    assert timeline.of(ev.HANGUP_REQUESTED) == [{"reason": "voicemail_failed"}]


class Queues:
    """The queue service as the hand-off's ``available`` reads it: one queue, nobody serving it."""

    def settings(self, name: str) -> object | None:
        return object() if name == "general" else None

    def staffed(self, name: str) -> int:
        return 0


async def test_the_queues_hand_off_offers_voicemail_only_while_it_runs_and_runs_it(db: Database, tmp_path: Path) -> None:
    from callcore.ivr.types import IvrOutcome
    from callcore.queues.stasis import QueueHandoff

    voicemail, session, ari, timeline = setup(db, tmp_path)
    without = QueueHandoff(Queues(), stasis=None, sounds_dir=tmp_path)  # type: ignore[arg-type]
    with_vm = QueueHandoff(Queues(), stasis=None, sounds_dir=tmp_path, voicemail=voicemail)  # type: ignore[arg-type]
    assert not without.available("voicemail", "general") and with_vm.available("voicemail", "general")
    assert not with_vm.available("queue", "general")  # nobody serves it: the menu's leave_message follows
    await with_vm.take(session, IvrOutcome(how="voicemail", node="leave_message", target="general"))
    assert ari.played[0] == ["sound:beep"]  # the menu's node spoke the prompt
    [row] = await rows(db)
    assert (row.mailbox, row.queue) == ("general", None)
    assert [d["mailbox"] for d in timeline.of(ev.VOICEMAIL_LEFT)] == ["general"]


async def test_listeners_are_told_of_each_message_stored_and_one_failing_loses_nothing(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    voicemail, session, _, _ = setup(db, tmp_path, seconds=0.8)
    heard: list[VoicemailLeft] = []

    async def broken(left: VoicemailLeft) -> None:
        raise RuntimeError("callbacks down")

    async def listen(left: VoicemailLeft) -> None:
        [row] = await rows(db)  # written before anyone is told
        assert row.id == left.recording_id
        heard.append(left)

    voicemail.add_listener(broken)
    voicemail.add_listener(listen)
    rec_id = await voicemail.take(session, mailbox="general", queue="general")
    [row] = await rows(db)
    assert heard == [VoicemailLeft(call_id="call-1", caller_number="13971110000", mailbox="general", queue="general",
                                   recording_id=rec_id or "", at=row.started_at, quality=TOO_SHORT)]
    assert "callbacks down" in caplog.text and "13971110000" not in caplog.text


async def test_no_listener_is_told_of_a_message_asterisk_refused_to_record(db: Database, tmp_path: Path) -> None:
    voicemail, session, _, _ = setup(db, tmp_path, ending="refused")
    heard: list[VoicemailLeft] = []

    async def listen(left: VoicemailLeft) -> None:
        heard.append(left)

    voicemail.add_listener(listen)
    await voicemail.take(session, mailbox="general")
    assert heard == []  # the caller was told it failed and to call again
