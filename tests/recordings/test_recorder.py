"""The recorder the queues' talk step calls: it never delays or breaks the call, and every recording
it starts ends as a stored row measured from its file, or as a row that says what went wrong."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcore.ari.errors import AriError, AriNotFound
from callcore.recordings.models import DONE, FAILED, RECORDING, Recording
from callcore.recordings.recorder import Recorder
from callcore.store.base import utcnow
from callcore.store.db import Database
from tests.recordings.helpers import write_wav


class FakeAsterisk:
    """Records bridges as Asterisk does: a file appears in the directory when a recording stops."""

    def __init__(self, directory: Path, *, refuse: bool = False, record_delay: float = 0.0) -> None:
        self.directory = directory
        self.refuse = refuse
        self.record_delay = record_delay
        self.live: dict[str, float] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    async def record_bridge(self, bridge_id: str, name: str, **kw: Any) -> dict[str, Any]:
        self.requests.append(("record", name, {"bridge": bridge_id, **kw}))
        await asyncio.sleep(self.record_delay)
        if self.refuse:
            raise AriError(422, "Bridge not in Stasis application", method="POST", path=f"bridges/{bridge_id}/record")
        self.live[name] = asyncio.get_running_loop().time()
        return {"name": name, "format": kw.get("fmt"), "state": "recording", "target_uri": f"bridge:{bridge_id}"}

    async def stop_recording(self, name: str) -> None:
        self.requests.append(("stop", name, {}))
        started = self.live.pop(name, None)
        if started is None:
            raise AriNotFound(404, "Recording not found", method="POST", path=f"recordings/live/{name}/stop")
        write_wav(self.directory / f"{name}.wav", max(0.5, asyncio.get_running_loop().time() - started))

    async def get_live_recording(self, name: str) -> dict[str, Any]:
        if name not in self.live:
            raise AriNotFound(404, "Recording not found", method="GET", path=f"recordings/live/{name}")
        return {"name": name, "state": "recording"}


async def rows(db: Database) -> list[Recording]:
    async with db.session() as s:
        return list(await s.scalars(select(Recording)))


async def settled(recorder: Recorder) -> None:
    while len(recorder.tasks):
        await asyncio.sleep(0.01)


async def test_a_recording_started_and_stopped_is_stored_with_what_was_measured(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path)
    recorder = Recorder(ari=asterisk, db=db, directory=tmp_path, max_seconds=7260)
    rec_id = await recorder.start(call_id="c1", bridge_id="call-c1", agent="4001", queue="general")
    assert rec_id is not None
    await asyncio.sleep(0.6)
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.id, row.call_id, row.agent, row.queue, row.status, row.missing) == (rec_id, "c1", "4001", "general", DONE, False)
    assert row.duration == pytest.approx(0.6, abs=0.1)
    assert row.size and row.sha256 and len(row.sha256) == 64
    assert row.path == str(tmp_path / f"{row.name}.wav") and row.ended_at and row.ended_at >= row.started_at
    [(_, name, params)] = [r for r in asterisk.requests if r[0] == "record"]
    assert params == {"bridge": "call-c1", "fmt": "wav", "if_exists": "fail", "beep": False, "terminate_on": "none",
                      "max_duration": 7260}


async def test_start_and_stop_never_wait_for_asterisk(db: Database, tmp_path: Path) -> None:
    recorder = Recorder(ari=FakeAsterisk(tmp_path, record_delay=2.0), db=db, directory=tmp_path)
    started = asyncio.get_running_loop().time()
    await recorder.start(call_id="c1", bridge_id="call-c1")
    await recorder.stop(call_id="c1")
    assert asyncio.get_running_loop().time() - started < 0.1
    await settled(recorder)
    [row] = await rows(db)
    assert row.status == DONE


async def test_a_refused_recording_is_logged_and_stored_as_failed_and_the_call_goes_on(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(ari=FakeAsterisk(tmp_path, refuse=True), db=db, directory=tmp_path)
    await recorder.start(call_id="c1", bridge_id="call-c1")
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.status, row.missing) == (FAILED, True) and "422" in (row.error or "")
    assert "not recorded" in caplog.text


async def test_stopping_a_call_never_recorded_does_nothing_and_a_second_start_is_refused(
        db: Database, tmp_path: Path) -> None:
    recorder = Recorder(ari=FakeAsterisk(tmp_path), db=db, directory=tmp_path)
    await recorder.stop(call_id="nope")
    assert await recorder.start(call_id="c1", bridge_id="b") is not None
    assert await recorder.start(call_id="c1", bridge_id="b") is None
    await recorder.stop(call_id="c1")
    await settled(recorder)
    assert len(await rows(db)) == 1


async def test_a_file_asterisk_did_not_leave_is_stored_as_missing(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path)
    recorder = Recorder(ari=asterisk, db=db, directory=tmp_path / "elsewhere")
    await recorder.start(call_id="c1", bridge_id="b")
    await settled(recorder)
    await recorder.stop(call_id="c1")
    await settled(recorder)
    [row] = await rows(db)
    assert (row.status, row.missing) == (DONE, True) and "not found" in (row.error or "")


async def test_the_sweep_completes_a_recording_a_stopped_daemon_left_open(db: Database, tmp_path: Path) -> None:
    asterisk = FakeAsterisk(tmp_path)
    first = Recorder(ari=asterisk, db=db, directory=tmp_path)
    await first.start(call_id="c1", bridge_id="b1")
    await first.start(call_id="c2", bridge_id="b2")
    await settled(first)
    await first.close()  # the daemon stops mid-conversation: no stop
    async with db.session() as s:
        for row in await s.scalars(select(Recording)):
            row.started_at = utcnow() - timedelta(minutes=2)
    # c1's conversation ended while no daemon ran (Asterisk closed the file); c2 still talks.
    c1 = next(n for n in asterisk.live if n.startswith("call-c1"))
    await asterisk.stop_recording(c1)
    second = Recorder(ari=asterisk, db=db, directory=tmp_path)
    assert await second.run_once() == 1
    by_call = {r.call_id: r for r in await rows(db)}
    assert by_call["c1"].status == DONE and by_call["c1"].duration and by_call["c1"].sha256
    assert by_call["c2"].status == RECORDING
