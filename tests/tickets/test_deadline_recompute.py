"""The 2027 problem (issue 14): a deadline counted over a year without official holiday data is flagged
(the ticket, the logs, the health warning), and a calendar change recounts open tickets' deadlines as
system events, never overwriting history. The holiday data is injected: these tests hold whatever
years the installed package knows."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone

import pytest

from callcore.store.db import Database
from callcore.tickets import reference
from callcore.tickets.calendar import WorkCalendar
from callcore.tickets.services import NewTicket, TicketService, state_of, step_of
from callcore.tickets.workflow import replay
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, SUPERVISOR, TEST_SETTINGS
from tests.tickets.holidays import OnlyYears

DEC1 = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # Tuesday 1 December 2026, 10:00 in Beijing
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def only_2026(service: TicketService, db: Database) -> TicketService:
    """The service (its departments seeded) with holiday data for 2026 only."""
    return TicketService(db, TEST_SETTINGS, holidays=OnlyYears(2026))


async def test_a_deadline_into_an_uncovered_year_is_flagged_and_logged(
        only_2026: TicketService, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="callcore.tickets.services"):
        t, _ = await only_2026.create(AGENT, NewTicket(category="report", content="举报", received_at=DEC1))
    # 30 working days counted Monday to Friday over New Year's Day: unverified.
    assert (t.due_date, t.due_unverified) == (date(2027, 1, 12), True)
    assert any("2027" in r.getMessage() and t.number in r.getMessage() for r in caplog.records)
    # The year the deadline was counted across, whatever year the warning is read in.
    assert "(2027)" in (await only_2026.calendar_warning() or "")
    short, _ = await only_2026.create(AGENT, NewTicket(category="help", content="求助", received_at=DEC1))
    assert (short.due_date, short.due_unverified) == (date(2026, 12, 8), False)


async def test_entering_the_years_holidays_recounts_open_deadlines_as_events(only_2026: TicketService) -> None:
    t, _ = await only_2026.create(AGENT, NewTicket(category="report", content="举报", received_at=DEC1))
    done, _ = await only_2026.create(AGENT, NewTicket(category="report", content="已答复", received_at=DEC1))
    await only_2026.act(AGENT, done.id, "answer", {"reply": "已答复"}, now=DEC1)
    # The admins enter 2027's notice, starting with New Year's Day: the year is covered now.
    await reference.put_override(only_2026, date(2027, 1, 1), workday=False, note="元旦")
    view = await only_2026.get(DISPATCHER, t.id)
    assert (view.ticket.due_date, view.ticket.due_unverified) == (date(2027, 1, 13), False)
    e = view.events[-1]
    assert (e.action, e.role, e.actor_id, e.note) == ("recompute", "system", "system", "calendar change")
    assert (e.data["due_date"], e.data["due_unverified"]) == ("2027-01-13", False)
    assert view.events[0].data["due_date"] == "2027-01-12"  # the history is kept
    assert replay([step_of(x) for x in view.events]) == state_of(view.ticket, ())
    assert await only_2026.calendar_warning() is None
    closed = await only_2026.get(DISPATCHER, done.id)
    assert [x.action for x in closed.events] == ["create", "answer"]  # closed tickets keep their deadline
    # Removing the override: counted again, flagged again.
    await reference.delete_override(only_2026, date(2027, 1, 1))
    view = await only_2026.get(DISPATCHER, t.id)
    assert (view.ticket.due_date, view.ticket.due_unverified) == (date(2027, 1, 12), True)
    assert [x.action for x in view.events] == ["create", "recompute", "recompute"]


async def test_a_calendar_change_moves_running_deadlines_but_not_approved_dates(service: TicketService) -> None:
    a, _ = await service.create(AGENT, NewTicket(category="help", content="甲", received_at=T0))
    b, _ = await service.create(AGENT, NewTicket(category="help", content="乙", received_at=T0))
    for t in (a, b):
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
        await service.act(HANDLER_A, t.id, "sign", now=T0)
    await service.act(HANDLER_A, b.id, "request_extension", {"until": "2026-03-20", "reason": "协调"}, now=T0)
    await service.act(SUPERVISOR, b.id, "approve_extension", now=T0)
    await service.act(HANDLER_A, a.id, "pause", {"kind": "hearing", "reason": "听证"}, now=T0)
    await reference.put_override(service, date(2026, 3, 4), workday=False, note="临时调整")
    ta = (await service.get(DISPATCHER, a.id)).ticket
    tb = (await service.get(DISPATCHER, b.id)).ticket
    assert (ta.status, ta.due_date) == ("paused", date(2026, 3, 10))
    assert tb.due_date == date(2026, 3, 20)  # a date the centre approved is not recounted
    assert await service.recompute_deadlines() == 0  # nothing left to change


def test_calendar_covers_with_the_real_package_far_ahead() -> None:
    """Whatever the package ships, 2200 has no data: deadlines there are flagged."""
    assert WorkCalendar().uncovered_years(date(2199, 12, 1), date(2200, 1, 12)) == [2199, 2200]
