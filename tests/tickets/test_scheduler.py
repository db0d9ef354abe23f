"""Automatic urges: once per ticket and number even with two schedulers on two connections."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from callcore.store.db import Database
from callcore.tickets.models import OutboxMessage, Ticket, TicketEvent, TicketUrge
from callcore.tickets.scheduler import UrgeScheduler
from callcore.tickets.services import NewTicket, TicketService
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # due 5 working days later: 2026-03-09


async def _overdue_tickets(service: TicketService, n: int) -> list[str]:
    ids = []
    for i in range(n):
        t, _ = await service.create(AGENT, NewTicket(category="help", content=f"求助{i}", received_at=T0))
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
        await service.act(HANDLER_A, t.id, "sign", now=T0)
        ids.append(t.id)
    return ids


async def test_two_schedulers_urge_each_ticket_once(db: Database, service: TicketService) -> None:
    ids = await _overdue_tickets(service, 12)
    other_db = Database(db.url)
    try:
        other = UrgeScheduler(TicketService(other_db, service.settings))
        mine = UrgeScheduler(service)
        day1 = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)
        made = await asyncio.gather(mine.run_once(day1), other.run_once(day1), mine.run_once(day1))
        assert sum(made) == len(ids)
        # The same day again: nothing more.
        assert await mine.run_once(day1 + timedelta(hours=3)) + await other.run_once(day1 + timedelta(hours=3)) == 0
        day2 = day1 + timedelta(days=1)
        made = await asyncio.gather(mine.run_once(day2), other.run_once(day2))
        assert sum(made) == len(ids)
    finally:
        await other_db.close()
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(TicketUrge)) == 2 * len(ids)
        counts = set(await s.scalars(select(Ticket.urge_count)))
        assert counts == {2}
        assert await s.scalar(select(func.count()).where(TicketEvent.action == "urge")) == 2 * len(ids)
        assert await s.scalar(select(func.count()).where(OutboxMessage.kind == "urge")) == 2 * len(ids)


async def test_explained_not_urged_and_escalation(service: TicketService) -> None:
    a, b = await _overdue_tickets(service, 2)
    await service.act(HANDLER_A, a, "explain", {"note": "等待施工许可"}, now=T0)
    sched = UrgeScheduler(service)
    day = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)
    for i in range(3):
        assert await sched.run_once(day + timedelta(days=i)) == 1
    view = await service.get(DISPATCHER, b)
    assert view.ticket.urge_count == 3 and view.ticket.supervised
    async with service.db.session() as s:
        assert await s.scalar(select(func.count()).where(OutboxMessage.kind == "escalation")) == 1
    assert (await service.get(DISPATCHER, a)).ticket.urge_count == 0
