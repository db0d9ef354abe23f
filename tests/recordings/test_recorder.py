"""The recorder the queues' talk step calls: it never delays or breaks the call, and every recording
it starts ends as a stored row measured from its file, or as a row that says what went wrong."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select

from callcore.ami.errors import AmiError
from callcore.ari.errors import AriNotFound
from callcore.recordings.models import DONE, FAILED, RECORDING, Recording
from callcore.recordings import audio
from callcore.recordings.recorder import Recorder
from callcore.store.base import utcnow
from callcore.store.db import Database
from tests.recordings.helpers import write_open_wav, write_wav


class FakeAsterisk:
    """MixMonitor as Asterisk runs it: the file appears, its header without sizes, when recording
    starts; StopMixMonitor closes it before answering; a channel hanging up closes it too."""

    def __init__(self, directory: Path, *, refuse: bool = False, record_delay: float = 0.0,
                 seconds: float | None = None) -> None:
        """``seconds``: the audio every file closes with; None, the time it was open (at least 0.5 s)."""
        self.directory = directory
        self.refuse = refuse
        self.record_delay = record_delay
        self.seconds = seconds
        self.live: dict[str, tuple[str, float]] = {}  # channel -> (file name, start)
        self.channels: set[str] = set()
        self.requests: list[dict[str, str]] = []

    def _path(self, file: str) -> Path:
        assert file.startswith("../recording/"), file
        return self.directory / file.removeprefix("../recording/")

    async def action(self, action: Mapping[str, str], *, timeout: float | None = None) -> list[dict[str, str]]:
        self.requests.append(dict(action))
        channel = action["Channel"]
        if action["Action"] == "MixMonitor":
            await asyncio.sleep(self.record_delay)
            if self.refuse:
                raise AmiError("No such channel", response={"Response": "Error", "Message": "No such channel"})
            self.channels.add(channel)
            self.live[channel] = (action["File"], asyncio.get_running_loop().time())
            write_open_wav(self._path(action["File"]))
            return [{"Response": "Success", "MixMonitorID": f"0x{len(self.requests):x}"}]
        assert action["Action"] == "StopMixMonitor"
        if channel not in self.live:
            raise AmiError("Could not stop MixMonitor", response={"Response": "Error"})
        self.close(channel)
        return [{"Response": "Success"}]

    def close(self, channel: str) -> None:
        file, started = self.live.pop(channel)
        write_wav(self._path(file), self.seconds or max(0.5, asyncio.get_running_loop().time() - started))

    def hang_up(self, channel: str) -> None:
        self.channels.discard(channel)
        if channel in self.live:
            self.close(channel)

    async def get_channel(self, channel_id: str) -> dict[str, Any]:
        if channel_id not in self.channels:
            raise AriNotFound(404, "Channel not found", method="GET", path=f"channels/{channel_id}")
        return {"id": channel_id}


async def rows(db: Database) -> list[Recording]:
    async with db.session() as s:
        return list(await s.scalars(select(Recording)))


def recorder_of(asterisk: FakeAsterisk, db: Database, directory: Path, **kw: Any) -> Recorder:
    return Recorder(ami=asterisk, ari=asterisk, db=db, directory=directory, **kw)


async def settled(recorder: Recorder) -> None:
    while len(recorder.tasks):
        await asyncio.sleep(0.01)


async def test_a_recording_started_and_stopped_is_stored_with_what_was_measured(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path)
    recorder = Recorder(ami=asterisk, ari=asterisk, db=db, directory=tmp_path)
    rec_id = await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="call-c1", agent="4001", queue="general")
    assert rec_id is not None
    await asyncio.sleep(0.6)
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.id, row.call_id, row.agent, row.queue, row.status, row.missing) == (rec_id, "c1", "4001", "general", DONE, False)
    assert row.duration == pytest.approx(0.6, abs=0.1)
    assert row.size and row.sha256 and len(row.sha256) == 64
    assert row.path == str(tmp_path / f"{row.name}.wav") and row.ended_at and row.ended_at >= row.started_at
    assert (row.channel_id, row.bridge_id) == ("ch-c1", "call-c1")
    start, stop = asterisk.requests
    # Both parties as heard on the citizen's leg, written only while bridged, into Asterisk's recording folder.
    assert start == {"Action": "MixMonitor", "Channel": "ch-c1", "Options": "b", "File": f"../recording/{row.name}.wav"}
    assert stop == {"Action": "StopMixMonitor", "Channel": "ch-c1", "MixMonitorID": "0x1"}


async def test_start_and_stop_never_wait_for_asterisk(db: Database, tmp_path: Path) -> None:
    recorder = recorder_of(FakeAsterisk(tmp_path, record_delay=2.0), db, tmp_path)
    started = asyncio.get_running_loop().time()
    await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="call-c1")
    await recorder.stop(call_id="c1")
    assert asyncio.get_running_loop().time() - started < 0.1
    await settled(recorder)
    [row] = await rows(db)
    assert row.status == DONE


async def test_a_refused_recording_is_logged_and_stored_as_failed_and_the_call_goes_on(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    recorder = recorder_of(FakeAsterisk(tmp_path, refuse=True), db, tmp_path)
    await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="call-c1")
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.status, row.missing) == (FAILED, True) and "No such channel" in (row.error or "")
    assert "not recorded" in caplog.text


async def test_stopping_a_call_never_recorded_does_nothing_and_a_second_start_is_refused(
        db: Database, tmp_path: Path) -> None:
    recorder = recorder_of(FakeAsterisk(tmp_path), db, tmp_path)
    await recorder.stop(call_id="nope")
    assert await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="b") is not None
    assert await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="b") is None
    await recorder.stop(call_id="c1")
    await settled(recorder)
    assert len(await rows(db)) == 1


async def test_a_file_asterisk_did_not_leave_is_stored_as_missing(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path)
    recorder = recorder_of(asterisk, db, tmp_path / "elsewhere", finish_timeout=0.3)
    await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="b")
    await settled(recorder)
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.status, row.missing) == (DONE, True) and "not found" in (row.error or "")


async def test_the_sweep_completes_a_recording_a_stopped_daemon_left_open(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path)
    first = recorder_of(asterisk, db, tmp_path)
    await first.start(call_id="c1", channel_id="ch-c1", bridge_id="b1")
    await first.start(call_id="c2", channel_id="ch-c2", bridge_id="b2")
    await settled(first)
    await first.close()  # the daemon stops mid-conversation: no stop
    async with db.session() as s:
        for row in await s.scalars(select(Recording)):
            row.started_at = utcnow() - timedelta(minutes=2)
    # c1's conversation ended while no daemon ran (Asterisk closed the file as the channel went); c2 still talks.
    asterisk.hang_up("ch-c1")
    second = recorder_of(asterisk, db, tmp_path)
    assert await second.run_once() == 1
    by_call = {r.call_id: r for r in await rows(db)}
    assert by_call["c1"].status == DONE and by_call["c1"].duration and by_call["c1"].sha256
    assert by_call["c2"].status == RECORDING


async def test_a_caller_who_hung_up_first_has_the_file_asterisk_closed_measured(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path, seconds=1.2)
    recorder = recorder_of(asterisk, db, tmp_path, finish_timeout=5.0)
    await recorder.start(call_id="c1", channel_id="ch-c1", bridge_id="b")
    await settled(recorder)
    # The channel is going: StopMixMonitor finds nothing to stop (its monitor is filed under another
    # name here), and Asterisk closes the file a moment later; the recorder waits for that.
    asterisk.live["gone"] = asterisk.live.pop("ch-c1")
    asyncio.get_running_loop().call_later(0.3, asterisk.hang_up, "gone")
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.status, row.missing, row.error) == (DONE, False, None)
    assert row.duration == pytest.approx(1.2, abs=0.15)


async def test_a_file_asterisk_never_closed_is_measured_as_it_is_after_the_wait(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    asterisk = FakeAsterisk(tmp_path)
    recorder = recorder_of(asterisk, db, tmp_path, finish_timeout=0.3)
    await recorder.start(call_id="c1", channel_id="ch-c1")
    await settled(recorder)
    asterisk.live.clear()  # Asterisk lost track of it: the stop is refused and the header stays open
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.status, row.missing) == (DONE, False) and row.duration == pytest.approx(0.2, abs=0.05)
    assert "still open" in caplog.text


def test_a_wav_is_closed_once_its_header_holds_its_sizes(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    assert not audio.wav_closed(path)
    write_open_wav(path)
    assert not audio.wav_closed(path)
    write_wav(path, 0.3)
    assert audio.wav_closed(path)
    with open(path, "ab") as fh:  # more audio after the sizes were written: open again
        fh.write(b"\0" * 320)
    assert not audio.wav_closed(path)
    (tmp_path / "b.wav").write_bytes(b"RIFF")
    assert not audio.wav_closed(tmp_path / "b.wav")
