"""CallSession.record against a fake ARI: it ends with the recording's RecordingFinished/RecordingFailed
(routed by the Stasis app from ``recording.target_uri``) or with the caller's hang-up, which keeps the
message (no ``CallerHungUp`` once recording began)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcore.ari.errors import AriNotFound
from callcore.calls.session import CallerHungUp, CallSession, RecordResult
from callcore.calls.stasis import StasisApp


class FakeAri:
    app = "callcore"

    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, dict[str, Any]]] = []
        self.gone = False

    async def record_channel(self, channel_id: str, name: str, **kw: Any) -> dict[str, Any]:
        if self.gone:
            raise AriNotFound(404, "Channel not found", method="POST", path=f"channels/{channel_id}/record")
        self.recorded.append((channel_id, name, kw))
        return {"name": name, "state": "queued", "target_uri": f"channel:{channel_id}"}


class Timeline:
    def emit(self, call_id: str, type_: str, data: dict[str, Any] | None = None) -> None:
        pass


def app_with_session() -> tuple[StasisApp, CallSession, FakeAri]:
    ari = FakeAri()
    app = StasisApp(ari=ari, journal=Timeline(), fallback=("c", "e", "l"))  # type: ignore[arg-type]
    session = CallSession(ari=ari, journal=Timeline(), call_id="call-1", channel_id="chan-1",  # type: ignore[arg-type]
                          caller_number="13971110000")
    app.sessions["chan-1"] = session
    return app, session, ari


def recording_event(type_: str, name: str, target: str = "channel:chan-1", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "recording": {"name": name, "format": "wav", "target_uri": target, **extra}}


async def recording(session: CallSession, ari: FakeAri, name: str = "vm-1") -> asyncio.Task[RecordResult]:
    task = asyncio.create_task(session.record(name, max_duration=120, max_silence=5))
    while not ari.recorded:
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    return task


async def test_record_asks_asterisk_to_record_the_channel_and_ends_with_recording_finished() -> None:
    app, session, ari = app_with_session()
    task = await recording(session, ari)
    app.on_event(recording_event("RecordingFinished", "someone-else"))  # another recording: not this one
    app.on_event(recording_event("RecordingFinished", "vm-1", target="bridge:call-9"))  # a bridge's: nobody's here
    await asyncio.sleep(0)
    assert not task.done()
    app.on_event(recording_event("RecordingFinished", "vm-1", duration=4))
    assert await task == RecordResult("vm-1", "finished")
    [(channel, name, params)] = ari.recorded
    assert (channel, name) == ("chan-1", "vm-1")
    assert params == {"fmt": "wav", "if_exists": "fail", "beep": False, "terminate_on": "#", "max_duration": 120,
                      "max_silence": 5}


async def test_a_recording_asterisk_could_not_make_ends_as_failed_with_its_cause() -> None:
    app, session, ari = app_with_session()
    task = await recording(session, ari)
    app.on_event(recording_event("RecordingFailed", "vm-1", cause="Could not open file"))
    assert await task == RecordResult("vm-1", "failed", "Could not open file")


async def test_a_hang_up_while_recording_ends_it_without_raising() -> None:
    app, session, ari = app_with_session()
    task = await recording(session, ari)
    app.on_event({"type": "ChannelHangupRequest", "channel": {"id": "chan-1"}, "cause": 16})
    assert await task == RecordResult("vm-1", "hangup")


async def test_a_caller_gone_before_the_recording_began_has_hung_up() -> None:
    _, session, ari = app_with_session()
    ari.gone = True
    with pytest.raises(CallerHungUp):
        await session.record("vm-1", max_duration=120, max_silence=5)
