"""A daemon killed with events still in memory loses none of them (issue 12, "a crash loses no call").

``kill -9`` is played by a journal whose writer never ran (or was never allowed to finish): what
it emitted is only in its write-ahead log. The next process's journal, on the same spool, stores it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.journal import CallJournal
from callcore.calls.wal import WriteAheadLog
from callcore.store.db import Database
from tests.calls.journals import Outage, drain
from tests.polling import until


def _a_call(journal: CallJournal, channel: str) -> str:
    cid = ev.call_id_for(channel)
    journal.emit(cid, ev.ARRIVED, {"channel_id": channel, "caller_number": "13800138000", "dialed": "96881"})
    journal.emit(cid, ev.ANSWERED)
    journal.emit(cid, ev.ENDED, {"by": "caller", "cause": 16})
    return cid


async def test_events_of_a_killed_process_are_stored_by_the_next(db: Database, tmp_path: Path) -> None:
    dead = CallJournal(db, tmp_path / "spool.jsonl")
    cid = _a_call(dead, "1700000000.1")  # its writer never wrote them: the process died first
    assert await queries.get_call(db, cid) is None

    journal = CallJournal(db, tmp_path / "spool.jsonl")
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call, events = found
    assert [e.type for e in events] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]
    assert (call.status, call.outcome) == ("ended", "lost_in_ivr")
    # Recovered once: the dead process's segments are gone, and a third start changes nothing.
    assert [p.name for p in WriteAheadLog(tmp_path / "spool.jsonl.wal").left] == []
    await drain(CallJournal(db, tmp_path / "spool.jsonl"))
    again = await queries.get_call(db, cid)
    assert again is not None and len(again[1]) == 3


async def test_a_process_killed_after_its_batch_was_stored_replays_it_without_a_second_copy(
        db: Database, tmp_path: Path) -> None:
    """The window between a commit and the log's release: the events come back, already stored."""
    first = CallJournal(db, tmp_path / "spool.jsonl")
    cid = _a_call(first, "1700000000.2")
    await first.write(list(first._queue._queue))  # type: ignore[attr-defined]  # stored, log not released
    await drain(CallJournal(db, tmp_path / "spool.jsonl"))
    found = await queries.get_call(db, cid)
    assert found is not None and [e.type for e in found[1]] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]


async def test_the_log_holds_only_what_is_not_yet_stored(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    task = asyncio.create_task(journal.run())
    try:
        for n in range(5):
            _a_call(journal, f"1700000001.{n}")
            await asyncio.wait_for(journal.wait_idle(), 10)
        wal = tmp_path / "spool.jsonl.wal"
        # Stored: only the segment being written remains, and it is empty.
        await until(lambda: len(list(tmp_path.glob("spool.jsonl.wal.*"))) == 1, "older segments released")
        [current] = tmp_path.glob("spool.jsonl.wal.*")
        assert current.read_text() == "" and wal.parent == tmp_path
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_recovered_while_the_database_is_down_they_wait_in_the_spool(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = CallJournal(db, tmp_path / "spool.jsonl")
    cid = _a_call(dead, "1700000002.1")
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    outage = Outage(journal, monkeypatch)
    task = asyncio.create_task(journal.run())
    try:
        dead_log = tmp_path / "spool.jsonl.wal.00000001"
        # The dead one's log, now in the spool.
        await until(lambda: journal.spooled and not dead_log.exists(), "the recovered events spooled")
        assert await queries.get_call(db, cid) is None
        outage.down = False
        await asyncio.wait_for(journal.wait_idle(), 20)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    found = await queries.get_call(db, cid)
    assert found is not None and [e.type for e in found[1]] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]


async def test_a_resumed_channel_keeps_its_call_and_its_one_arrival(db: Database, tmp_path: Path) -> None:
    """Restarted while the store was down, the daemon could not look the parked channel up: it opens the
    call again under the channel's own id, and the journal keeps the one row and the first arrival."""
    channel = "1700000003.7"
    first = CallJournal(db, tmp_path / "spool.jsonl")
    cid = ev.call_id_for(channel)
    first.emit(cid, ev.ARRIVED, {"channel_id": channel, "caller_number": "13800138000", "dialed": "96881"})
    first.emit(cid, ev.ANSWERED)
    await drain(first)

    second = CallJournal(db, tmp_path / "spool.jsonl")
    assert ev.call_id_for(channel) == cid
    second.emit(cid, ev.ARRIVED, {"channel_id": channel, "caller_number": "13800138000", "resumed": True})
    second.emit(cid, ev.RECONCILED, {"action": "resumed"})
    second.emit(cid, ev.ENDED, {"by": "caller", "cause": 16})
    await drain(second)
    found = await queries.get_call(db, cid)
    assert found is not None
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.ANSWERED, ev.RECONCILED, ev.ENDED]
    assert len(await queries.list_calls(db, queries.CallFilter())) == 2 and found[0].status == "ended"
