"""Deadline pause (听证/评审/踏勘, issue 14): the clock stops and restarts as events, the deadline
moves by the working days paused, and a paused ticket is neither yellow, red nor urged."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sqlalchemy import select

from callcore.tickets.deadlines import colour_clause, colour_of
from callcore.tickets.models import Ticket
from callcore.tickets.errors import BadTicketInput, IllegalTransition, NotPermitted, TicketNotFound
from callcore.tickets.scheduler import UrgeScheduler
from callcore.tickets.services import NewTicket, TicketService, state_of, step_of
from callcore.tickets.stats import department_stats
from callcore.tickets.workflow import replay
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, HANDLER_B

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # Monday 2 March 2026, 10:00 in Beijing


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)


async def _signed(service: TicketService) -> str:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="路面塌陷", received_at=T0))
    assert t.due_date == date(2026, 3, 9)
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    await service.act(HANDLER_A, t.id, "sign", now=T0)
    return t.id


async def test_pause_and_resume_move_the_deadline(service: TicketService) -> None:
    tid = await _signed(service)
    with pytest.raises(BadTicketInput, match="kind"):
        await service.act(HANDLER_A, tid, "pause", {"kind": "nap", "reason": "x"}, now=_at(date(2026, 3, 4)))
    with pytest.raises(TicketNotFound):
        await service.act(HANDLER_B, tid, "pause", {"kind": "survey", "reason": "x"}, now=_at(date(2026, 3, 4)))
    t = await service.act(HANDLER_A, tid, "pause", {"kind": "survey", "reason": "需现场踏勘"},
                          now=_at(date(2026, 3, 4)))
    assert (t.status, t.paused_on, t.pause_kind, t.due_date) == ("paused", date(2026, 3, 4), "survey",
                                                                 date(2026, 3, 9))
    # The clock is stopped: past the old deadline, still not overdue, not urged, not counted as open overdue.
    today = date(2026, 3, 12)
    assert colour_of(t.status, t.due_date, t.closed_on_time, today, today) == "green"
    assert await UrgeScheduler(service).run_once(_at(today)) == 0
    rows = {r.department_id: r for r in await department_stats(
        service.db, datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc), today)}
    assert rows["dep-a"].open_overdue == 0
    async with service.db.session() as sess:  # the list filters agree (SQL twin of colour_of)
        for colour, expected in (("red", []), ("yellow", []), ("green", [tid])):
            found = list(await sess.scalars(select(Ticket.id).where(colour_clause(colour, today, today))))
            assert found == expected, colour
    with pytest.raises(NotPermitted):
        await service.act(AGENT, tid, "resume", now=_at(today))
    with pytest.raises(IllegalTransition):
        await service.act(HANDLER_A, tid, "reply", {"reply": "已处理"}, now=_at(today))
    # Resumed on Thursday 12 March: 6 working days paused (5, 6, 9, 10, 11, 12 March).
    t = await service.act(DISPATCHER, tid, "resume", now=_at(today))
    assert (t.status, t.paused_on, t.paused_days, t.due_date) == ("processing", None, 6, date(2026, 3, 17))
    view = await service.get(DISPATCHER, tid)
    assert [e.action for e in view.events][-2:] == ["pause", "resume"]
    assert view.events[-1].data["paused_days"] == 6 and view.events[-1].data["due_date"] == "2026-03-17"
    assert replay([step_of(e) for e in view.events]) == state_of(view.ticket, ())


async def test_no_pause_once_overdue_or_with_an_extension_pending(service: TicketService) -> None:
    tid = await _signed(service)
    with pytest.raises(IllegalTransition, match="已超期"):
        await service.act(HANDLER_A, tid, "pause", {"kind": "hearing", "reason": "听证"}, now=_at(date(2026, 3, 10)))
    await service.act(HANDLER_A, tid, "request_extension", {"days": 3, "reason": "协调"}, now=T0)
    with pytest.raises(IllegalTransition, match="延期"):
        await service.act(HANDLER_A, tid, "pause", {"kind": "hearing", "reason": "听证"}, now=T0)


async def test_a_pause_on_the_same_day_moves_nothing(service: TicketService) -> None:
    tid = await _signed(service)
    await service.act(DISPATCHER, tid, "pause", {"kind": "review", "reason": "专家评审"}, now=T0)
    t = await service.act(DISPATCHER, tid, "resume", now=T0)
    assert (t.due_date, t.paused_days) == (date(2026, 3, 9), 0)
