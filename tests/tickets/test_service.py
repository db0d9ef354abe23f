"""The service on both backends: a ticket's life end to end, and the history replays to the row."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from callcore.tickets.errors import BadTicketInput, IllegalTransition, NotPermitted, TicketNotFound
from callcore.tickets.models import OutboxMessage, TicketEvent
from callcore.tickets.services import NewTicket, TicketService, state_of, step_of
from callcore.tickets.workflow import replay
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, HANDLER_B, LEADER, SUPERVISOR

# A Monday in 2026 that is a working day, 10:00 in Beijing.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


async def _replays(service: TicketService, ref: str) -> None:
    view = await service.get(DISPATCHER, ref)
    assists = tuple(sorted(d.department_id for d in view.departments if d.role == "assist"))
    assert replay([step_of(e) for e in view.events]) == state_of(view.ticket, assists)
    assert [e.seq for e in view.events] == list(range(1, len(view.events) + 1))
    # The department inbox copies stay in step with the ticket.
    assert all((d.status, d.received_at, d.category) == (view.ticket.status, view.ticket.received_at,
                                                         view.ticket.category) for d in view.departments)


async def test_full_life(service: TicketService) -> None:
    t, dups = await service.create(AGENT, NewTicket(category="complaint", content="小区门口垃圾堆放三天无人清理",
                                                      phone="13812345678", received_at=T0))
    assert dups == [] and t.status == "new" and len(t.query_code) == 8 and t.query_code.isdigit()
    assert t.number.startswith("20260302") and t.due_date.isoformat() == "2026-03-23"
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    with pytest.raises(TicketNotFound):
        await service.act(HANDLER_B, t.id, "sign", now=T0)
    await service.act(HANDLER_A, t.number, "sign", now=T0)
    await service.act(HANDLER_A, t.id, "request_extension", {"days": 5, "reason": "需协调"}, now=T0)
    t2 = await service.act(SUPERVISOR, t.id, "approve_extension", now=T0)
    assert t2.due_date.isoformat() == "2026-03-30" and t2.extension_count == 1
    await service.act(HANDLER_A, t.id, "reply", {"reply": "已清理", "satisfaction": "unsatisfied"}, now=T0)
    t3 = await service.act(DISPATCHER, t.id, "redo", now=T0)
    assert t3.status == "dispatched" and t3.department_id == "dep-a" and t3.redo_count == 1
    await service.act(HANDLER_A, t.id, "sign", now=T0)
    await service.act(HANDLER_A, t.id, "reply", {"reply": "再次清理", "satisfaction": "satisfied"}, now=T0)
    t4 = await service.act(DISPATCHER, t.id, "close", now=T0)
    assert t4.status == "closed" and t4.closed_on_time is True
    await _replays(service, t.id)
    await service.act(DISPATCHER, t.id, "archive", now=T0)
    with pytest.raises(IllegalTransition, match="archived"):
        await service.act(DISPATCHER, t.id, "note", note="x", now=T0)
    await _replays(service, t.id)
    async with service.db.session() as s:
        kinds = list(await s.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.created_at)))
        n_events = await s.scalar(select(func.count()).select_from(TicketEvent))
    assert "citizen_received" in kinds and "dispatched" in kinds and "citizen_closed" in kinds
    assert n_events == 11


async def test_refused_changes_nothing(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="求助", received_at=T0))
    with pytest.raises(IllegalTransition, match="'sign'.*'new'"):
        await service.act(DISPATCHER, t.id, "sign", now=T0)
    with pytest.raises(NotPermitted):
        await service.act(LEADER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    with pytest.raises(BadTicketInput, match="department_id"):
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "nope"}, now=T0)
    with pytest.raises(BadTicketInput, match="reason"):
        await service.act(DISPATCHER, t.id, "reject", {"reason": "bored"}, now=T0)
    view = await service.get(DISPATCHER, t.id)
    assert len(view.events) == 1 and view.ticket.status == "new"


async def test_bad_category_and_duplicates(service: TicketService) -> None:
    with pytest.raises(BadTicketInput, match="category"):
        await service.create(AGENT, NewTicket(category="nope", content="x"))
    a, _ = await service.create(AGENT, NewTicket(category="complaint", content="幸福路12号夜间施工噪音扰民，影响休息"))
    _, dups = await service.create(AGENT, NewTicket(category="complaint", content="幸福路12号夜间施工噪音扰民严重"))
    assert [d.ticket_id for d in dups] == [a.id] and dups[0].reason == "content"
    _, dups = await service.create(AGENT, NewTicket(category="help", content="别的事", phone="13900000000"))
    _, dups = await service.create(AGENT, NewTicket(category="help", content="又一件", phone="13900000000"))
    assert len(dups) == 1 and dups[0].reason == "phone"
    m = await service.act(AGENT, dups[0].ticket_id, "merge", {"other_id": a.number})
    assert m.status == "merged" and m.merged_into == a.id


async def test_inbox_page_matches_the_general_query(service: TicketService) -> None:
    """The department fast path gives the same rows, order and total as the general filter."""
    from datetime import timedelta

    from callcore.tickets import queries
    from callcore.tickets.calendar import local_date
    from callcore.store.base import utcnow

    ids = []
    for i in range(7):
        t, _ = await service.create(AGENT, NewTicket(category="help", content=f"事{i}",
                                                     received_at=T0 + timedelta(hours=i % 3)))
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
        ids.append(t.id)
    await service.act(HANDLER_A, ids[0], "sign", now=T0)
    other, _ = await service.create(AGENT, NewTicket(category="help", content="乙单位的事", received_at=T0))
    await service.act(DISPATCHER, other.id, "dispatch", {"mode": "transfer", "department_id": "dep-b"}, now=T0)
    dl = await service.deadlines()
    today = local_date(utcnow())
    for who, f in ((HANDLER_A, queries.TicketFilter(status=("dispatched",), limit=3, offset=2)),
                   (HANDLER_A, queries.TicketFilter(sort="received_at", limit=4)),
                   (DISPATCHER, queries.TicketFilter(department_id="dep-a", limit=50, since=T0)),
                   (DISPATCHER, queries.TicketFilter(department_id="dep-a", category="help", limit=5))):
        fast = await queries.page(service.db, who, f, dl, today)
        assert queries._inbox(who, f) is not None
        general = queries.filtered(who, f, dl, today).limit(f.limit).offset(f.offset)
        async with service.db.session() as s:
            rows = list(await s.scalars(general))
        assert [t.id for t in fast[0]] == [t.id for t in rows]
    # Department B's handler sees its one ticket and none of A's seven.
    rows, total, capped = await queries.page(service.db, HANDLER_B, queries.TicketFilter(), dl, today)
    assert [t.id for t in rows] == [other.id] and total == 1
