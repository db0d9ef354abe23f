from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from callcore.core.bus import EventBus
from callcore.calls import queries
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.store.db import Database


async def _drain(journal: CallJournal) -> None:
    import asyncio

    task = asyncio.create_task(journal.run())
    try:
        await asyncio.wait_for(journal.wait_idle(), 10)
    finally:
        task.cancel()


async def test_timeline_folds_into_call_row(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c1", "caller_number": "13800138000", "caller_name": "张三", "dialed": "96881"})
    journal.emit(cid, ev.ANSWERED)
    journal.emit(cid, ev.IVR_ENTERED, {"menu": "main"})
    journal.emit(cid, ev.ENDED, {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"})
    await _drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call, events = found
    assert [e.type for e in events] == [ev.ARRIVED, ev.ANSWERED, ev.IVR_ENTERED, ev.ENDED]
    assert call.caller_name == "张三"
    assert call.status == "ended" and call.hangup_by == "caller" and call.loss_stage == "ivr"
    assert call.arrived_at.tzinfo is not None and call.arrived_at.microsecond % 1000 == 0


async def test_outage_spools_in_order_and_replays_once(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    bus = EventBus()
    journal = CallJournal(db, tmp_path / "spool.jsonl", bus)
    real_write = journal.write
    down = True

    async def flaky(batch, **kw):  # type: ignore[no-untyped-def]
        if down:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        await real_write(batch, **kw)

    monkeypatch.setattr(journal, "write", flaky)
    task = asyncio.create_task(journal.run())
    cid = journal.new_call_id()
    first = journal.emit(cid, ev.ARRIVED, {"channel_id": "c2", "caller_number": "13900000000"})
    await asyncio.sleep(0.2)
    journal.emit(cid, ev.ANSWERED)
    journal.emit(cid, ev.ENDED, {"by": "system"})
    await asyncio.sleep(0.3)
    assert journal.spooled
    assert await queries.get_call(db, cid) is None
    down = False
    await asyncio.wait_for(journal.wait_idle(), 20)
    task.cancel()
    assert not journal.spooled
    found = await queries.get_call(db, cid)
    assert found is not None
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]
    assert found[0].status == "ended" and found[0].loss_stage is None
    # A replay of records already written (a commit whose answer was lost) changes nothing.
    await real_write([first])
    again = await queries.get_call(db, cid)
    assert again is not None and len(again[1]) == 3


async def test_later_batches_fold_into_the_stored_row_and_orphans_get_one(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid, orphan = journal.new_call_id(), journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c3", "caller_number": "13700000000"})
    journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "category", "value": "consultation"})
    await _drain(journal)
    # A second batch: the row is read back, folded and updated; the first attribute is kept.
    journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "priority", "value": 5})
    journal.emit(cid, ev.REFUSED, {"node": "route"})
    journal.emit(cid, ev.ENDED, {"by": "system", "cause": 21})
    journal.emit(orphan, ev.ANSWERED)
    await _drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call, events = found
    assert call.attributes == {"category": "consultation", "priority": 5}
    assert (call.status, call.stage, call.loss_stage, call.hangup_cause) == ("ended", "refused", "refused", 21)
    assert len(events) == 5 and call.caller_number == "13700000000"
    lost = await queries.get_call(db, orphan)
    assert lost is not None and lost[0].status == "active" and [e.type for e in lost[1]] == [ev.ANSWERED]


async def test_an_arrived_for_a_stored_call_adds_no_second_row(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c4", "caller_number": "13600000000"})
    await _drain(journal)
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c5", "caller_number": "13600000001"})
    journal.emit(cid, ev.ENDED, {"by": "caller"})
    await _drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None and found[0].channel_id == "c4" and found[0].status == "ended"
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.ARRIVED, ev.ENDED]


async def test_an_overlong_caller_id_is_cut_to_fit_and_stored(db: Database, tmp_path: Path) -> None:
    # PostgreSQL refuses a value longer than its column; a spoofed caller ID must not cost the call.
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c6", "caller_number": "1" * 300, "caller_name": "张" * 300})
    journal.emit(cid, ev.ENDED, {"by": "caller", "cause_text": "x" * 300})
    await _drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call = found[0]
    assert (len(call.caller_number), len(call.caller_name), len(call.hangup_cause_text or "")) == (40, 128, 64)
    assert not journal.spooled


async def test_an_event_the_database_refuses_is_set_aside_and_the_rest_are_stored(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    journal = CallJournal(db, tmp_path / "spool.jsonl")
    real_write = journal.write
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c7", "caller_number": "13500000000"})
    bad = journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "category", "value": "refused by the database"})
    journal.emit(cid, ev.ENDED, {"by": "caller"})

    async def refusing(batch, **kw):  # type: ignore[no-untyped-def]
        if any(r.id == bad.id for r in batch):
            raise IntegrityError("INSERT", {}, Exception("check constraint"))
        await real_write(batch, **kw)

    monkeypatch.setattr(journal, "write", refusing)
    await _drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None and [e.type for e in found[1]] == [ev.ARRIVED, ev.ENDED]
    assert not journal.spooled  # not taken for an outage: nothing waits for a replay
    assert bad.id in (tmp_path / "spool.jsonl.bad").read_text(encoding="utf-8")
