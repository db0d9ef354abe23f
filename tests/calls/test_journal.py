from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from callcore.core.bus import EventBus
from callcore.calls import queries
from callcore.calls import events as ev
from callcore.calls.events import CallEventRecord
from callcore.calls.journal import CallJournal
from callcore.calls.models import Call
from callcore.store.db import Database
from tests.calls.journals import Outage, drain
from tests.polling import until


async def test_timeline_folds_into_call_row(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c1", "caller_number": "13800138000", "caller_name": "张三", "dialed": "96881"})
    journal.emit(cid, ev.ANSWERED)
    journal.emit(cid, ev.IVR_ENTERED, {"menu": "main"})
    journal.emit(cid, ev.ENDED, {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"})
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call, events = found
    assert [e.type for e in events] == [ev.ARRIVED, ev.ANSWERED, ev.IVR_ENTERED, ev.ENDED]
    assert call.caller_name == "张三"
    assert call.status == "ended" and call.hangup_by == "caller"
    assert (call.outcome, call.loss_stage) == ("lost_in_ivr", "ivr")
    assert call.arrived_at.tzinfo is not None and call.arrived_at.microsecond % 1000 == 0


async def test_outage_spools_in_order_and_replays_once(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    bus = EventBus()
    journal = CallJournal(db, tmp_path / "spool.jsonl", bus)
    real_write = journal.write
    outage = Outage(journal, monkeypatch)
    task = asyncio.create_task(journal.run())
    cid = journal.new_call_id()
    first = journal.emit(cid, ev.ARRIVED, {"channel_id": "c2", "caller_number": "13900000000"})
    await asyncio.sleep(0.2)
    journal.emit(cid, ev.ANSWERED)
    journal.emit(cid, ev.ENDED, {"by": "system"})
    await asyncio.sleep(0.3)
    assert journal.spooled
    assert await queries.get_call(db, cid) is None
    outage.down = False
    await asyncio.wait_for(journal.wait_idle(), 20)
    task.cancel()
    assert not journal.spooled
    found = await queries.get_call(db, cid)
    assert found is not None
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]
    # Ended by the system with nothing else said: the system closed it, not the caller's loss.
    assert found[0].status == "ended" and (found[0].outcome, found[0].loss_stage) == ("closed_by_system", "system")
    # A replay of records already written (a commit whose answer was lost) changes nothing.
    await real_write([first])
    again = await queries.get_call(db, cid)
    assert again is not None and len(again[1]) == 3


async def test_later_batches_fold_into_the_stored_row_and_orphans_get_one(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid, orphan = journal.new_call_id(), journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c3", "caller_number": "13700000000"})
    journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "category", "value": "consultation"})
    await drain(journal)
    # A second batch: the row is read back, folded and updated; the first attribute is kept.
    journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "priority", "value": 5})
    journal.emit(cid, ev.REFUSED, {"node": "route"})
    journal.emit(cid, ev.ENDED, {"by": "system", "cause": 21})
    journal.emit(orphan, ev.ANSWERED)
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call, events = found
    assert call.attributes == {"category": "consultation", "priority": 5}
    assert (call.status, call.stage, call.loss_stage, call.hangup_cause) == ("ended", "refused", "refused", 21)
    assert call.outcome == "refused"
    assert len(events) == 5 and call.caller_number == "13700000000"
    lost = await queries.get_call(db, orphan)
    assert lost is not None and lost[0].status == "active" and [e.type for e in lost[1]] == [ev.ANSWERED]
    assert lost[0].outcome is None and lost[0].loss_stage is None  # not ended: no outcome yet


async def test_an_arrived_for_a_stored_call_adds_no_second_row(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c4", "caller_number": "13600000000"})
    await drain(journal)
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c5", "caller_number": "13600000001"})
    journal.emit(cid, ev.ENDED, {"by": "caller"})
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None and found[0].channel_id == "c4" and found[0].status == "ended"
    assert found[0].outcome == "lost_in_ivr"
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.ARRIVED, ev.ENDED]


async def test_an_overlong_caller_id_is_cut_to_fit_and_stored(db: Database, tmp_path: Path) -> None:
    # PostgreSQL refuses a value longer than its column; a spoofed caller ID must not cost the call.
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c6", "caller_number": "1" * 300, "caller_name": "张" * 300})
    journal.emit(cid, ev.ENDED, {"by": "caller", "cause_text": "x" * 300})
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    call = found[0]
    assert (len(call.caller_number), len(call.caller_name), len(call.hangup_cause_text or "")) == (40, 128, 64)
    assert not journal.spooled


async def test_an_event_the_database_refuses_is_set_aside_and_the_rest_are_stored(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import IntegrityError

    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    real_write = journal.write
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c7", "caller_number": "13500000000"})
    bad = journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "category", "value": "数据库拒收的分类"})
    journal.emit(cid, ev.ENDED, {"by": "caller"})

    async def refusing(batch, **kw):  # type: ignore[no-untyped-def]
        if any(r.id == bad.id for r in batch):
            raise IntegrityError("INSERT", {}, Exception("check constraint"))
        await real_write(batch, **kw)

    monkeypatch.setattr(journal, "write", refusing)
    caplog.set_level(logging.ERROR, logger="callcore.calls.journal")
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None and [e.type for e in found[1]] == [ev.ARRIVED, ev.ENDED]
    assert not journal.spooled  # not taken for an outage: nothing waits for a replay
    # The event set aside whole, readable as written (Chinese not escaped), for someone to look at.
    [kept] = (tmp_path / "spool.jsonl.bad").read_text(encoding="utf-8").splitlines()
    assert json.loads(kept) == bad.to_json() and "数据库拒收的分类" in kept
    # The log tells ops which event, of which call, why, and where it is kept.
    assert [r.getMessage() for r in caplog.records] == [
        "database refused a batch of 3 events (check constraint); storing them one by one",
        f"event {bad.id} (attribute_set) of call {cid} refused by the database (check constraint); kept in {spool}.bad",
    ]


# --- one outcome per ended call (C-2): the sequences the daemon emits ----------------------------

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
Step = tuple[float, str, dict[str, Any]]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node(t: float, name: str, kind: str, **more: Any) -> Step:
    return (t, ev.IVR_NODE, {"node": name, "kind": kind, **more})


def prompt(t: float, name: str, type_: str = ev.PROMPT_STARTED) -> Step:
    return (t, type_, {"prompt": name, "playback_id": f"pb-{name}"})


def ended(t: float, by: str) -> Step:
    return (t, ev.ENDED, {"by": by, "cause": 16, "cause_text": "Normal Clearing"})


# Welcome, then the main menu (ivr/main.yaml), as the IVR flow emits them.
TO_MAIN: list[Step] = [
    (0, ev.ARRIVED, {"channel_id": "ch-1", "caller_number": "13800000000", "dialed": "96881", "direction": "inbound"}),
    (0, ev.ANSWERED, {"by": "dialplan"}),
    (0.1, ev.IVR_ENTERED, {"menu": "main", "version": "2026-11-23.1", "label": ""}),
    node(0.1, "route", "switch"), node(0.1, "welcome", "play"), prompt(0.1, "welcome.prompt"),
    prompt(5, "welcome.prompt", ev.PROMPT_FINISHED), node(5, "hours", "hours"), node(5, "main", "menu"),
    prompt(5, "main.prompt"),
]
# Key 1: consultation, the general queue.
KEY_1: list[Step] = [
    (7, ev.DTMF, {"digit": "1"}), prompt(7, "main.prompt", ev.PROMPT_FINISHED), node(7, "consult", "set"),
    (7, ev.ATTRIBUTE_SET, {"name": "category", "value": "consultation"}), node(7, "queue_general", "queue"),
]
# Nobody to take the call: the not_available hangup node's apology.
APOLOGY: list[Step] = [
    *TO_MAIN, *KEY_1, node(7, "queue_general", "queue", unavailable=True, target="general"),
    node(7, "not_available", "hangup"), prompt(7, "not_available.prompt"),
]
# The queue takes the call: the caller waits in third place from 9 s.
QUEUED: list[Step] = [
    *TO_MAIN, *KEY_1, prompt(7, "queue_general.prompt"), prompt(9, "queue_general.prompt", ev.PROMPT_FINISHED),
    (9, ev.IVR_LEFT, {"how": "queue", "node": "queue_general", "menu": "main", "target": "general"}),
    (9, ev.QUEUE_ENTERED, {"queue": "general", "position": 3, "priority": 0, "seq": 12}),
]


def queue_left(t: float, reason: str, position: int, waited: float) -> Step:
    return (t, ev.QUEUE_LEFT, {"queue": "general", "reason": reason, "position": position, "waited": waited})


def ring(t: float, agent: str, reason: str | None = None) -> Step:
    if reason is None:
        return (t, ev.AGENT_RINGING, {"queue": "general", "agent": agent, "attempt": 1, "channel_id": f"agent-{agent}"})
    return (t, ev.AGENT_RING_ENDED, {"queue": "general", "agent": agent, "reason": reason})


async def stored(journal: CallJournal, *batches: list[Step]) -> Call:
    """One call's events emitted at their times, each list a batch of its own; the row as stored."""
    cid = journal.new_call_id()
    for batch in batches:
        for t, type_, data in batch:
            journal.emit(cid, type_, data, at=at(t))
        await drain(journal)
    found = await queries.get_call(journal.db, cid)
    assert found is not None
    return found[0]


def facts(call: Call) -> tuple[Any, ...]:
    return (call.outcome, call.loss_stage, call.queue, call.agent, call.position, call.waited, call.queue_entered_at,
            call.agent_answered_at, call.talk_ended_at, call.wrap_up_seconds)


async def test_the_apology_heard_to_the_end_is_closed_by_the_system(db: Database, tmp_path: Path) -> None:
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), APOLOGY, [
        prompt(13, "not_available.prompt", ev.PROMPT_FINISHED),
        (13, ev.IVR_LEFT, {"how": "hangup", "node": "not_available", "menu": "main", "reason": "unavailable"}),
        (13, ev.HANGUP_REQUESTED, {"reason": "unavailable"}), ended(13.1, "system")])
    # Was: no loss stage at all (hung up by the system), so the closed hotline went uncounted.
    assert facts(call) == ("closed_by_system", "system", None, None, None, None, None, None, None, 0.0)


async def test_hanging_up_during_the_apology_is_not_lost_in_the_ivr(db: Database, tmp_path: Path) -> None:
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), [*APOLOGY, (
        9, ev.IVR_LEFT, {"how": "caller_hangup", "node": "not_available", "menu": "main", "lost": True}),
        ended(9, "caller")])
    assert (call.hangup_by, call.outcome, call.loss_stage) == ("caller", "closed_by_system", "system")


async def test_a_caller_who_heard_the_ticket_status_was_served(db: Database, tmp_path: Path) -> None:
    lookup: list[Step] = [
        (7, ev.DTMF, {"digit": "3"}), prompt(7, "main.prompt", ev.PROMPT_FINISHED), node(7, "query", "collect"),
        prompt(7, "query.prompt"), *[(10 + i, ev.DTMF, {"digit": d}) for i, d in enumerate("20260301#")],
        node(18, "lookup", "lookup"), node(18, "lookup", "lookup", found=True, status="processing"),
        prompt(18, "lookup.status"), prompt(26, "lookup.status", ev.PROMPT_FINISHED), node(26, "after_lookup", "menu"),
        prompt(26, "after_lookup.prompt"),
    ]
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), [*TO_MAIN, *lookup], [
        (29, ev.IVR_LEFT, {"how": "caller_hangup", "node": "after_lookup", "menu": "main", "lost": True}),
        ended(29, "caller")])
    # Was: lost in the IVR (the caller hung up in a menu).
    assert (call.outcome, call.loss_stage) == ("served_by_self_service", None)


async def test_answered_with_the_handle_facts(db: Database, tmp_path: Path) -> None:
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), [
        *QUEUED, (39, ev.ANNOUNCEMENT, {"kind": ev.ANNOUNCE_POSITION, "position": 2, "expected_seconds": 40}),
        ring(50, "1001"), ring(56, "1001", ev.RING_ANSWERED),
        (56, ev.AGENT_ANSWERED, {"queue": "general", "agent": "1001", "waited": 47}),
        queue_left(56, ev.LEFT_ANSWERED, 1, 47), (56, ev.ANNOUNCEMENT, {"kind": ev.ANNOUNCE_AGENT, "agent": "1001"}),
        (59, ev.BRIDGED, {"agent": "1001", "bridge_id": "call-x"}), (59, ev.TALK_STARTED, {"agent": "1001"}),
    ], [(239, ev.TALK_ENDED, {"agent": "1001", "by": "caller", "wrap_up": 30}), ended(239, "caller")])
    assert facts(call) == ("answered", None, "general", "1001", 1, 47.0, at(9), at(56), at(239), 30.0)
    assert call.answered_at == at(0)  # the daemon answering the channel, not the agent


async def test_abandoned_in_the_queue_with_the_place_and_the_wait(db: Database, tmp_path: Path) -> None:
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), [
        *QUEUED, (39, ev.ANNOUNCEMENT, {"kind": ev.ANNOUNCE_POSITION, "position": 2, "expected_seconds": 40}),
        queue_left(54, ev.LEFT_CALLER_HANGUP, 2, 45), ended(54, "caller")])
    assert facts(call) == ("abandoned_in_queue", "queue", "general", None, 2, 45.0, at(9), None, None, 0.0)


async def test_lost_while_an_agents_phone_rang(db: Database, tmp_path: Path) -> None:
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), QUEUED, [
        ring(20, "1002"), ring(31, "1002", ev.RING_CALLER_GONE), queue_left(31, ev.LEFT_CALLER_HANGUP, 1, 22),
        ended(31, "caller")])
    assert facts(call) == ("lost_while_ringing", "ringing", "general", "1002", 1, 22.0, at(9), None, None, 0.0)


async def test_a_short_abandon_and_its_threshold(db: Database, tmp_path: Path) -> None:
    steps = [*QUEUED, queue_left(12, ev.LEFT_CALLER_HANGUP, 3, 3), ended(12, "caller")]
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), steps)
    assert (call.outcome, call.loss_stage, call.waited) == ("short_abandon", "short", 3.0)
    stricter = await stored(CallJournal(db, tmp_path / "spool2.jsonl", short_abandon_seconds=2), steps)
    assert (stricter.outcome, stricter.loss_stage) == ("abandoned_in_queue", "queue")


async def test_a_queue_timeout(db: Database, tmp_path: Path) -> None:
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), QUEUED, [
        queue_left(609, ev.LEFT_TIMEOUT, 2, 600), prompt(609, "queue.max_wait"),
        prompt(615, "queue.max_wait", ev.PROMPT_FINISHED), (615, ev.HANGUP_REQUESTED, {"reason": "normal"}),
        ended(615.1, "system")])
    assert facts(call) == ("queue_timeout", "timeout", "general", None, 2, 600.0, at(9), None, None, 0.0)


async def test_self_service_nodes_are_the_journals_to_give(db: Database, tmp_path: Path) -> None:
    steps = [*TO_MAIN, (7, ev.DTMF, {"digit": "4"}), node(7, "info", "menu"), (9, ev.DTMF, {"digit": "1"}),
             node(9, "office_hours", "play"), prompt(9, "office_hours.prompt"), ended(20, "caller")]
    assert (await stored(CallJournal(db, tmp_path / "a.jsonl"), steps)).outcome == "lost_in_ivr"
    journal = CallJournal(db, tmp_path / "b.jsonl", self_service_nodes=frozenset({"office_hours"}))
    assert (await stored(journal, steps)).outcome == "served_by_self_service"


async def test_a_call_without_arrived_is_still_classified(db: Database, tmp_path: Path) -> None:
    # Its ``arrived`` was lost with the producer's state: the row is made from the first event seen.
    call = await stored(CallJournal(db, tmp_path / "spool.jsonl"), [
        (9, ev.QUEUE_ENTERED, {"queue": "general", "position": 1}), queue_left(60, ev.LEFT_CALLER_HANGUP, 1, 51),
        ended(60, "caller")])
    assert call.arrived_at == at(9) and facts(call)[:6] == ("abandoned_in_queue", "queue", "general", None, 1, 51.0)
    lone = await stored(CallJournal(db, tmp_path / "spool2.jsonl"), [ended(5, "unknown")])
    assert (lone.status, lone.outcome, lone.loss_stage) == ("ended", "lost_in_ivr", "ivr")


async def test_an_ended_replayed_or_repeated_changes_nothing(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    for t, type_, data in [*QUEUED, ring(20, "1002"), ring(31, "1002", ev.RING_CALLER_GONE),
                           queue_left(31, ev.LEFT_CALLER_HANGUP, 1, 22)]:
        journal.emit(cid, type_, data, at=at(t))
    last = journal.emit(cid, ev.ENDED, {"by": "caller"}, at=at(31))
    await drain(journal)
    found = await queries.get_call(db, cid)
    assert found is not None
    first, events = found
    await journal.write([last])  # a replay (the spool after a commit whose answer was lost)
    # The reconciler closing it again, later, as if it had ended while the daemon was away.
    journal.emit(cid, ev.RECONCILED, {"action": "closed"}, at=at(90))
    journal.emit(cid, ev.ENDED, {"by": "unknown"}, at=at(90))
    await drain(journal)
    again = await queries.get_call(db, cid)
    assert again is not None and len(again[1]) == len(events) + 2
    assert facts(again[0]) == facts(first) and (again[0].ended_at, again[0].hangup_by) == (at(31), "caller")
    assert first.outcome == "lost_while_ringing"


async def test_timeline_order_is_time_then_seq_across_a_restart(db: Database, tmp_path: Path) -> None:
    # The daemon was killed while 1001's phone rang for a queued caller, who then hung up; the next
    # daemon (its seq counter back at 1) closes the call. In seq order its ``ended`` would come
    # before the caller even arrived and the call would read as lost in the menus.
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    cid = journal.new_call_id()
    before = [*QUEUED, ring(40, "1001")]
    records = [CallEventRecord(id=f"old-{n}", call_id=cid, seq=5000 + n, at=at(t), type=type_, data=data)
               for n, (t, type_, data) in enumerate(before)]
    records += [CallEventRecord(id="new-1", call_id=cid, seq=1, at=at(70), type=ev.RECONCILED,
                                data={"action": "closed", "reason": "channel ended while the daemon was away"}),
                CallEventRecord(id="new-2", call_id=cid, seq=2, at=at(70), type=ev.ENDED, data={"by": "unknown"})]
    await journal.write(records[:-2])
    await journal.write(records[-2:])
    found = await queries.get_call(db, cid)
    assert found is not None
    assert facts(found[0])[:6] == ("lost_while_ringing", "ringing", "general", "1001", 3, 61.0)


async def test_one_batch_of_many_ended_calls_reads_their_timelines_once(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    ids = [journal.new_call_id() for _ in range(3)]
    for cid in ids:
        for t, type_, data in QUEUED:
            journal.emit(cid, type_, data, at=at(t))
    await drain(journal)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        for n, cid in enumerate(ids):
            journal.emit(cid, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_CALLER_HANGUP}, at=at(20 + n))
            journal.emit(cid, ev.ENDED, {"by": "caller"}, at=at(20 + n))
        await drain(journal)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    # Timelines read back (the look-up of already stored event ids is another matter: a replay's).
    reads = [s for s in statements if s.lstrip().startswith("SELECT") and "WHERE call_events.call_id IN" in s]
    assert len(reads) == 1, statements
    rows = [await queries.get_call(db, cid) for cid in ids]
    assert [(r[0].outcome, r[0].waited) for r in rows if r] == [("abandoned_in_queue", 11.0 + n) for n in range(3)]


@pytest.mark.parametrize("failure", ["pool", "unexpected"])
async def test_the_writer_outlives_a_pool_timeout_and_any_other_failure(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    """Under overload the pool's timeout (not an OperationalError) stopped the writer for good: every
    later call stayed active and the spool was never replayed. Both kinds are spooled and replayed."""
    import asyncio

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    journal = CallJournal(db, tmp_path / "spool.jsonl")
    real_write = journal.write
    fails = [True]

    async def flaky(batch, **kw):  # type: ignore[no-untyped-def]
        if fails[0]:
            fails[0] = False
            raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached") if failure == "pool" \
                else RuntimeError("something nobody foresaw")
        await real_write(batch, **kw)

    monkeypatch.setattr(journal, "write", flaky)
    task = asyncio.create_task(journal.run())
    try:
        cid = journal.new_call_id()
        journal.emit(cid, ev.ARRIVED, {"channel_id": "c9", "caller_number": "13900000009"})
        journal.emit(cid, ev.ENDED, {"by": "caller", "cause": 16})
        await asyncio.sleep(0.3)
        later = journal.new_call_id()
        journal.emit(later, ev.ARRIVED, {"channel_id": "c10", "caller_number": "13900000010"})
        journal.emit(later, ev.ENDED, {"by": "caller", "cause": 16})
        await asyncio.wait_for(journal.wait_idle(), 20)
        assert not task.done()
        for call_id in (cid, later):
            found = await queries.get_call(db, call_id)
            assert found is not None and found[0].status == "ended"
    finally:
        task.cancel()


# --- the live path, without the spool (issue 15) -------------------------------------------------

async def test_a_live_batch_updates_the_stored_row_without_a_replay(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches straight from ``emit`` are written with ``known_new`` and fold into the row an earlier
    batch stored; the spool is never read."""
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    real_write = journal.write
    writes: list[tuple[list[str], bool]] = []
    replays: list[int] = []

    async def recording(batch, *, known_new: bool = False):  # type: ignore[no-untyped-def]
        writes.append(([r.type for r in batch], known_new))
        await real_write(batch, known_new=known_new)

    async def no_replay() -> None:
        replays.append(1)

    monkeypatch.setattr(journal, "write", recording)
    monkeypatch.setattr(journal, "_replay", no_replay)
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c11", "caller_number": "13900000011"})
    await drain(journal)
    journal.emit(cid, ev.ANSWERED)
    journal.emit(cid, ev.ATTRIBUTE_SET, {"name": "category", "value": "complaint"})
    await drain(journal)
    journal.emit(cid, ev.ENDED, {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"})
    await drain(journal)
    assert writes == [([ev.ARRIVED], True), ([ev.ANSWERED, ev.ATTRIBUTE_SET], True), ([ev.ENDED], True)]
    assert replays == [] and not journal.spool.exists()
    found = await queries.get_call(db, cid)
    assert found is not None
    call, events = found
    assert (call.status, call.stage, call.hangup_by, call.hangup_cause) == ("ended", "answered", "caller", 16)
    assert call.answered_at is not None and call.attributes == {"category": "complaint"}
    assert [e.type for e in events] == [ev.ARRIVED, ev.ANSWERED, ev.ATTRIBUTE_SET, ev.ENDED]


async def test_a_torn_spool_line_is_kept_aside_and_the_rest_replayed(db: Database, tmp_path: Path) -> None:
    """A crash mid-append leaves half a line: it goes to ``<spool>.bad`` (never dropped silently), the whole
    lines before it are stored, and the spool is emptied."""
    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    cid = journal.new_call_id()
    arrived = CallEventRecord(id="e-1", call_id=cid, seq=1, at=datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc),
                              type=ev.ARRIVED, data={"channel_id": "c12", "caller_number": "13900000012"})
    torn = '{"id": "e-2", "call_id": "' + cid + '", "seq": 2, "ty'
    spool.write_text(json.dumps(arrived.to_json(), ensure_ascii=False) + "\n" + torn + "\n", encoding="utf-8")
    task = asyncio.create_task(journal.run())
    try:
        await until(lambda: journal.written == 1 and not journal.spooled, "the spool's replay")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    found = await queries.get_call(db, cid)
    assert found is not None and [e.id for e in found[1]] == ["e-1"]
    assert (tmp_path / "spool.jsonl.bad").read_text(encoding="utf-8") == torn + "\n"
    assert spool.read_text(encoding="utf-8") == ""


async def test_a_long_spool_is_replayed_in_batches_to_its_end(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spool longer than one batch: every event is stored, in batches of ``BATCH``."""
    from callcore.calls import journal as journal_module

    monkeypatch.setattr(journal_module, "BATCH", 2)
    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    cid = journal.new_call_id()
    t0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    records = [CallEventRecord(id=f"e-{n}", call_id=cid, seq=n, at=t0 + timedelta(seconds=n), type=type_, data=data)
               for n, (type_, data) in enumerate([(ev.ARRIVED, {"channel_id": "c13", "caller_number": "13900000013"}),
                                                  (ev.ANSWERED, {}), (ev.IVR_ENTERED, {"menu": "main"}),
                                                  (ev.ATTRIBUTE_SET, {"name": "category", "value": "help"}),
                                                  (ev.ENDED, {"by": "caller"})])]
    spool.write_text("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    batches: list[int] = []
    real_store = journal._store

    async def counting(batch, **kw):  # type: ignore[no-untyped-def]
        batches.append(len(batch))
        await real_store(batch, **kw)

    monkeypatch.setattr(journal, "_store", counting)
    await journal._replay()
    assert batches == [2, 2, 1] and not journal.spooled
    found = await queries.get_call(db, cid)
    assert found is not None and [e.id for e in found[1]] == [r.id for r in records]
    assert found[0].status == "ended" and found[0].attributes == {"category": "help"}


async def test_replay_retries_back_off_to_ten_seconds_and_reset_once_the_database_answers(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    record = CallEventRecord(id="e-1", call_id=journal.new_call_id(), seq=1,
                             at=datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc), type=ev.ANSWERED, data={})
    spool.write_text(json.dumps(record.to_json()) + "\n", encoding="utf-8")
    real_store = journal._store
    down = [True]

    async def flaky(batch, **kw):  # type: ignore[no-untyped-def]
        if down[0]:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        await real_store(batch, **kw)

    monkeypatch.setattr(journal, "_store", flaky)
    delays = []
    for _ in range(6):
        await journal._replay()
        delays.append(journal._retry_delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0] and journal.spooled
    down[0] = False
    await journal._replay()
    assert journal._retry_delay == 0.5 and not journal.spooled


async def test_arrived_sets_the_rows_identity_and_its_defaults(db: Database, tmp_path: Path) -> None:
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    placed, bare = journal.new_call_id(), journal.new_call_id()
    journal.emit(placed, ev.ARRIVED, {"channel_id": "c14", "direction": "outbound", "caller_number": "96881",
                                      "caller_name": "热线", "dialed": "13900000014"})
    journal.emit(bare, ev.ARRIVED)
    await drain(journal)
    rows = {cid: await queries.get_call(db, cid) for cid in (placed, bare)}
    call = rows[placed][0]  # type: ignore[index]
    assert (call.channel_id, call.direction, call.caller_number, call.caller_name, call.dialed) == (
        "c14", "outbound", "96881", "热线", "13900000014")
    call = rows[bare][0]  # type: ignore[index]
    assert (call.channel_id, call.direction, call.caller_number, call.caller_name, call.dialed) == (
        "", "inbound", "", "", "")
    assert (call.status, call.stage, call.answered_at, call.ended_at) == ("active", "arrived", None, None)


async def test_events_after_an_unreadable_line_are_replayed_too(db: Database, tmp_path: Path) -> None:
    """After a crash mid-append the daemon goes on appending behind the torn line: what follows it is kept."""
    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    cid = journal.new_call_id()
    t0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    arrived = CallEventRecord(id="e-1", call_id=cid, seq=1, at=t0, type=ev.ARRIVED,
                              data={"channel_id": "c15", "caller_number": "13900000015"})
    ended = CallEventRecord(id="e-3", call_id=cid, seq=3, at=t0 + timedelta(seconds=5), type=ev.ENDED,
                            data={"by": "caller"})
    spool.write_text("\n".join([json.dumps(arrived.to_json()), '{"id": "e-2", "ca', json.dumps(ended.to_json())]) + "\n",
                     encoding="utf-8")
    await journal._replay()
    found = await queries.get_call(db, cid)
    assert found is not None and [e.id for e in found[1]] == ["e-1", "e-3"] and found[0].status == "ended"
    assert (tmp_path / "spool.jsonl.bad").read_text(encoding="utf-8") == '{"id": "e-2", "ca\n'
    assert not journal.spooled


# --- the write path, case by case (issue 15: what its mutants showed untested) ----------------------

async def test_one_batch_writes_new_calls_of_every_shape_each_with_its_own_columns(db: Database, tmp_path: Path) -> None:
    """One transaction inserts the rows of several new calls at once (one multi-row INSERT): a call that
    arrives and ends, one that only arrives, and one whose ``arrived`` was lost. Each row has every
    column its own: those its events set, and the defaults of a row nothing set."""
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    ended, arrived, orphan = (journal.new_call_id() for _ in range(3))
    journal.emit(ended, ev.ARRIVED, {"channel_id": "c20", "direction": "inbound", "caller_number": "13900000020",
                                     "caller_name": "王五", "dialed": "96881"}, at=at(0))
    journal.emit(ended, ev.ANSWERED, at=at(1))
    journal.emit(ended, ev.ENDED, {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"}, at=at(4))
    journal.emit(arrived, ev.ARRIVED, {"channel_id": "c21", "direction": "outbound", "caller_number": "96881",
                                       "caller_name": "热线", "dialed": "13900000021"}, at=at(2))
    journal.emit(orphan, ev.ANSWERED, at=at(3))
    await drain(journal)

    def columns(call: Call) -> tuple[Any, ...]:
        return (call.channel_id, call.direction, call.caller_number, call.caller_name, call.dialed, call.status,
                call.stage, call.arrived_at, call.answered_at, call.ended_at, call.hangup_by, call.hangup_cause,
                call.hangup_cause_text, call.attributes, call.outcome)

    rows = {cid: await queries.get_call(db, cid) for cid in (ended, arrived, orphan)}
    assert columns(rows[ended][0]) == (  # type: ignore[index]
        "c20", "inbound", "13900000020", "王五", "96881", "ended", "answered", at(0), at(1), at(4), "caller", 16,
        "Normal Clearing", {}, "lost_in_ivr")
    assert columns(rows[arrived][0]) == (  # type: ignore[index]
        "c21", "outbound", "96881", "热线", "13900000021", "active", "arrived", at(2), None, None, None, None, None,
        {}, None)
    assert columns(rows[orphan][0]) == (  # type: ignore[index]
        "", "inbound", "", "", "", "active", "answered", at(3), at(3), None, None, None, None, {}, None)
    assert journal.written == 5


async def test_a_resumed_call_keeps_its_one_arrival_and_an_unknown_one_arrives(db: Database, tmp_path: Path) -> None:
    """A restarted daemon resuming a parked channel it could not look up says the call arrived again
    (``resumed``): for a call the store has, that arrival is dropped and the rest of the batch kept; for
    one it has not (the first process's events lost), it is the call's arrival."""
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    known, unknown = journal.new_call_id(), journal.new_call_id()
    journal.emit(known, ev.ARRIVED, {"channel_id": "c22", "caller_number": "13900000022"}, at=at(0))
    await drain(journal)
    for cid, channel, number in ((known, "c22", "13900000022"), (unknown, "c23", "13900000023")):
        journal.emit(cid, ev.ARRIVED, {"channel_id": channel, "caller_number": number, "direction": "inbound",
                                       "resumed": True}, at=at(30))
        journal.emit(cid, ev.RECONCILED, {"action": "resumed", "channel_state": "Up"}, at=at(30))
    journal.emit(known, ev.ENDED, {"by": "caller"}, at=at(40))
    await drain(journal)
    found = await queries.get_call(db, known)
    assert found is not None
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.RECONCILED, ev.ENDED]
    assert (found[0].arrived_at, found[0].status, found[0].caller_number) == (at(0), "ended", "13900000022")
    found = await queries.get_call(db, unknown)
    assert found is not None and [e.type for e in found[1]] == [ev.ARRIVED, ev.RECONCILED]
    assert (found[0].channel_id, found[0].caller_number, found[0].arrived_at) == ("c23", "13900000023", at(30))


async def test_a_replay_of_stored_and_repeated_events_stores_each_once_and_refuses_nothing(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A spool may hold events already stored (a commit whose answer was lost) and the same event twice (a
    batch spooled again): the replay looks them up and leaves them out, so the database has nothing to
    refuse and nothing is set aside."""
    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    cid = journal.new_call_id()
    journal.emit(cid, ev.ARRIVED, {"channel_id": "c24", "caller_number": "13900000024"}, at=at(0))
    answered = journal.emit(cid, ev.ANSWERED, at=at(1))
    await drain(journal)
    assert journal.written == 2
    hung_up = CallEventRecord(id="e-24", call_id=cid, seq=3, at=at(9), type=ev.ENDED, data={"by": "caller"})
    lines = [json.dumps(r.to_json(), ensure_ascii=False) for r in (answered, hung_up, hung_up)]
    spool.write_text("\n".join(lines) + "\n", encoding="utf-8")
    caplog.set_level(logging.ERROR, logger="callcore.calls.journal")
    await journal._replay()
    assert caplog.records == [] and not (tmp_path / "spool.jsonl.bad").exists() and not journal.spooled
    found = await queries.get_call(db, cid)
    assert found is not None and [e.id for e in found[1]] == [found[1][0].id, answered.id, "e-24"]
    assert found[0].status == "ended" and journal.written == 3  # counted across batches: 2 live, 1 replayed


async def test_a_spool_with_a_blank_and_a_torn_line_is_replayed_around_them(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Blank lines are skipped and what follows them kept; the log names the unreadable line by its
    number in the file, says why, and where it is kept."""
    spool = tmp_path / "spool.jsonl"
    journal = CallJournal(db, spool)
    cid = journal.new_call_id()
    arrived = CallEventRecord(id="e-1", call_id=cid, seq=1, at=at(0), type=ev.ARRIVED,
                              data={"channel_id": "c25", "caller_number": "13900000025"})
    hung_up = CallEventRecord(id="e-3", call_id=cid, seq=3, at=at(5), type=ev.ENDED, data={"by": "caller"})
    torn = '{"id": "e-2", "call_id": "' + cid + '", "ty'
    try:
        json.loads(torn)
    except ValueError as exc:
        why = str(exc)
    spool.write_text("\n".join([json.dumps(arrived.to_json()), "", torn, json.dumps(hung_up.to_json())]) + "\n",
                     encoding="utf-8")
    caplog.set_level(logging.ERROR, logger="callcore.calls.journal")
    await journal._replay()
    found = await queries.get_call(db, cid)
    assert found is not None and [e.id for e in found[1]] == ["e-1", "e-3"] and found[0].status == "ended"
    assert (tmp_path / "spool.jsonl.bad").read_text(encoding="utf-8") == torn + "\n"
    assert [r.getMessage() for r in caplog.records] == [f"{spool} line 3 unreadable ({why}); kept in {spool}.bad"]
