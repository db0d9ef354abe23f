"""The screen-pop card on both backends, from real rows: contents, masking per reader, and a fixed
number of statements however long the caller's history is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event

from callcore.accounts.models import Department
from callcore.calls.events import IVR_LEFT, CallEventRecord
from callcore.calls.models import Call
from callcore.core.identity import Principal
from callcore.queues.card import CallerCard, caller_card, ivr_path_of
from callcore.queues.models import QueueEntry
from callcore.routing import blocklist
from callcore.store.db import Database
from callcore.tickets.services import NewTicket, TicketService
from tests.tickets.conftest import TEST_SETTINGS

NUMBER = "13812345678"
# A Monday in 2026 that is a working day, 10:00 in Beijing.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
AGENT = Principal(user_id="u-agent", name="接线员", role="agent")
DISPATCHER = Principal(user_id="u-disp", name="派单员", role="dispatcher")
LEADER = Principal(user_id="u-lead", name="领导", role="leader")
HANDLER = Principal(user_id="u-ha", name="甲单位", role="handler", department_id="dep-a")
PATH = ["route", "welcome", "hours", "main", "complaint", "queue_complaint"]


@pytest.fixture
async def service(db: Database) -> AsyncIterator[TicketService]:
    async with db.session() as s:
        s.add(Department(id="dep-a", code="a", name="单位a", active=True, contact="dep-a@sms"))
    yield TicketService(db, TEST_SETTINGS)  # its history goes back beyond the default one-year window


async def _ticket(service: TicketService, category: str, received: datetime, *, name: str = "",
                  content: str = "小区路灯不亮", number: str = NUMBER) -> str:
    t, _ = await service.create(AGENT, NewTicket(category=category, content=content, phone=number,
                                                  caller_name=name, received_at=received))
    return t.id


def _call(call_id: str, arrived: datetime, *, number: str = NUMBER, seconds: int | None = None, stage: str = "ivr",
          loss_stage: str | None = None) -> Call:
    return Call(id=call_id, channel_id=f"ch-{call_id}", caller_number=number, arrived_at=arrived, stage=stage,
                status="active" if seconds is None else "ended", loss_stage=loss_stage,
                ended_at=None if seconds is None else arrived + timedelta(seconds=seconds))


async def _history(db: Database, service: TicketService) -> None:
    """Six tickets (the oldest not shown), three earlier calls and the current one, a block."""
    t0 = await _ticket(service, "praise", datetime(2025, 12, 1, 2, 0, tzinfo=timezone.utc), name="王五")
    await service.act(AGENT, t0, "answer", {"reply": "感谢表扬"}, now=T0)
    await _ticket(service, "complaint", datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc), name="张三")
    t5 = await _ticket(service, "suggestion", datetime(2026, 2, 26, 2, 0, tzinfo=timezone.utc))
    await service.act(DISPATCHER, t5, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    t2 = await _ticket(service, "consultation", datetime(2026, 2, 25, 2, 0, tzinfo=timezone.utc), name="李四")
    await service.act(AGENT, t2, "answer", {"reply": "已解答"}, now=T0)
    await _ticket(service, "emergency", T0)
    await _ticket(service, "consultation", T0 + timedelta(minutes=1),
                  content="请回电：13912345678，小区门口的垃圾已经堆放了三天无人清理，气味很大，希望尽快处理。")
    await _ticket(service, "complaint", T0, name="别人", number="13700000000")
    async with db.session() as s:
        s.add_all([
            _call("c-now", T0 + timedelta(minutes=2)),
            _call("c-1", T0 - timedelta(days=1), seconds=125, stage="talking"),
            _call("c-2", T0 - timedelta(days=2), seconds=40, stage="queue", loss_stage="queue"),
            _call("c-3", T0 - timedelta(days=3), seconds=12, stage="ivr", loss_stage="ivr"),
            _call("c-other", T0, number="13700000000", seconds=30),
        ])
        await s.flush()
        s.add(QueueEntry(call_id="c-1", queue="general", entered_at=T0 - timedelta(days=1), seq=1,
                         status="answered", agent="1002"))
    await blocklist.block(db, NUMBER, reason="多次辱骂话务员，回电：13912345678 核实", by="班长")
    await blocklist.block(db, "13700000000", reason="过期", by="班长", until=T0 - timedelta(days=1))


def _timeline() -> list[CallEventRecord]:
    return [CallEventRecord(id="e1", call_id="c-now", seq=1, at=T0, type="ivr_node", data={"node": "main"}),
            CallEventRecord(id="e2", call_id="c-now", seq=2, at=T0, type=IVR_LEFT,
                            data={"how": "queue", "node": "queue_complaint", "target": "complaint", "path": PATH})]


async def _card(db: Database, service: TicketService, number: str = NUMBER, **kw: Any) -> CallerCard:
    return await caller_card(db, call_id="c-now", caller_number=number, attributes={"category": "complaint"},
                             tickets=service, timeline=_timeline(), now=T0 + timedelta(minutes=3), **kw)


async def test_card_holds_profile_flags_and_history(db: Database, service: TicketService) -> None:
    await _history(db, service)
    card = await _card(db, service)
    assert (card.call_id, card.caller_number, card.caller_name) == ("c-now", NUMBER, "李四")
    assert card.complete and card.tags == () and card.vip is False
    assert card.blacklisted and card.blacklist_reason.startswith("多次辱骂")
    assert card.repeat_caller and card.open_tickets == 4
    assert (card.category, card.category_text) == ("complaint", "投诉")
    assert card.ivr_path == tuple(PATH)
    # Calls: newest first, the current one left out, the agent from the queue's record.
    assert [(c.call_id, c.status, c.loss_stage, c.result_text, c.duration_seconds, c.agent) for c in card.calls] == [
        ("c-1", "ended", None, "已接听", 125, "1002"),
        ("c-2", "ended", "queue", "排队中放弃", 40, None),
        ("c-3", "ended", "ivr", "菜单中挂机", 12, None),
    ]
    # Tickets: the last five, each with its status text and the W-8 colour of today.
    got = [(t.category, t.category_text, t.status, t.status_text, t.colour) for t in card.tickets]
    assert got == [
        ("consultation", "咨询", "new", "已受理", "green"),
        ("emergency", "应急", "new", "已受理", "yellow"),
        ("suggestion", "建议", "dispatched", "已转办，待签收", "green"),
        ("consultation", "咨询", "closed", "已办结", "green"),
        ("complaint", "投诉", "new", "已受理", "red"),
    ]
    assert card.tickets[0].summary.endswith("…") and len(card.tickets[0].summary) == 40
    assert card.tickets[0].received_at == T0 + timedelta(minutes=1)
    assert all(t.number.isdigit() for t in card.tickets)


async def test_to_json_masks_the_number_for_roles_that_may_not_see_it(db: Database, service: TicketService) -> None:
    await _history(db, service)
    card = await _card(db, service)
    agent = card.to_json(AGENT)
    assert agent["caller_number"] == NUMBER and "13912345678" in agent["tickets"][0]["summary"]
    assert agent["flags"] == {"blacklisted": True, "blacklist_reason": "多次辱骂话务员，回电：13912345678 核实",
                              "vip": False, "repeat_caller": True, "open_tickets": 4}
    assert agent["calls"][0]["arrived_at"] == "2026-03-01T02:00:00.000Z"
    assert agent["built_at"] == "2026-03-02T02:03:00.000Z"
    assert agent["ivr_path"] == PATH and agent["complete"] is True
    leader = card.to_json(LEADER)
    assert leader["caller_number"] == "138****5678"
    assert "13912345678" not in str(leader) and "139****5678" in leader["tickets"][0]["summary"]
    assert len(leader["tickets"]) == 5
    # A department handler reads only the department's tickets: none on a card built for the floor.
    handler = card.to_json(HANDLER)
    assert handler["caller_number"] == NUMBER and handler["tickets"] == []


async def test_a_caller_without_history(db: Database, service: TicketService) -> None:
    await _history(db, service)
    card = await caller_card(db, call_id="c-x", caller_number="13600000000", attributes={}, tickets=service,
                             ivr_path=("route", "main"), now=T0)
    assert (card.caller_name, card.blacklisted, card.repeat_caller, card.open_tickets) == ("", False, False, 0)
    assert (card.category, card.category_text, card.ivr_path) == (None, "", ("route", "main"))
    assert card.calls == () and card.tickets == () and card.complete
    # An expired block no longer flags the number.
    assert not (await _card(db, service, "13700000000")).blacklisted


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_the_card_costs_a_fixed_handful_of_statements(db: Database, service: TicketService) -> None:
    await service.deadlines()  # the categories and calendar, read once per daemon
    with statements(db) as empty:
        await _card(db, service, "13600000000")
    busy = "13500000000"
    for i in range(12):
        await _ticket(service, "consultation", T0 - timedelta(days=i), number=busy)
    async with db.session() as s:
        s.add_all(_call(f"b-{i}", T0 - timedelta(hours=i), number=busy, seconds=60) for i in range(12))
        await s.flush()
        s.add_all(QueueEntry(call_id=f"b-{i}", queue="general", entered_at=T0 - timedelta(hours=i), seq=i,
                             status="answered", agent="1001") for i in range(12))
    with statements(db) as full:
        card = await _card(db, service, busy)
    assert len(card.calls) == 5 and len(card.tickets) == 5 and card.open_tickets == 12
    assert len(empty) <= 6 and len(full) <= 6, (empty, full)
    # Anonymous callers have no history to read: at most the category names.
    with statements(db) as anonymous:
        card = await _card(db, service, "")
    assert card.calls == () and card.category_text == "投诉" and len(anonymous) == 1


async def test_store_down_gives_an_incomplete_card_not_an_error() -> None:
    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    try:
        card = await caller_card(broken, call_id="c-1", caller_number=NUMBER, attributes={"category": "complaint"},
                                 tickets=TicketService(broken), ivr_path=PATH)
    finally:
        await broken.close()
    assert not card.complete and card.caller_number == NUMBER and card.ivr_path == tuple(PATH)
    assert (card.category, card.category_text, card.calls, card.blacklisted) == ("complaint", "complaint", (), False)


def test_ivr_path_is_the_last_ivr_left() -> None:
    again = CallEventRecord(id="e3", call_id="c", seq=3, at=T0, type=IVR_LEFT, data={"path": ["main", "query"]})
    assert ivr_path_of([*_timeline(), again]) == ("main", "query")
    assert ivr_path_of([]) == ()
