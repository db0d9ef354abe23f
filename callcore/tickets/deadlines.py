"""Deadlines (W-6, W-7) and status colour (W-8), in one place so every screen, list filter,
export and report computes them the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from callcore.store.db import Database
from callcore.tickets.calendar import PACKAGE, HolidaySource, WorkCalendar, load_calendar
from callcore.tickets.models import Category, Ticket
from callcore.tickets.settings import TicketSettings

COLOURS = ("green", "yellow", "red")


@dataclass
class Deadlines:
    calendar: WorkCalendar
    settings: TicketSettings
    limits: dict[str, int]

    @classmethod
    async def load(cls, db: Database, settings: TicketSettings, source: HolidaySource = PACKAGE) -> Deadlines:
        async with db.session() as s:
            limits = {c.code: c.limit_days for c in await s.scalars(select(Category))}
        return cls(calendar=await load_calendar(db, source), settings=settings, limits=limits)

    def due(self, category: str, received: date) -> date:
        """W-7: the category's limit in working days, counted from the day after receipt."""
        return self.calendar.add_workdays(received, self.limits.get(category, 15))

    def counted(self, start: date, days: int, paused_days: int = 0) -> dict[str, Any]:
        """A deadline ``days`` working days after ``start`` (plus the working days paused so far), as the
        event data the workflow reads: the date, its basis, and whether a year it spans is unverified."""
        due = self.calendar.add_workdays(start, days + paused_days)
        return {"due_date": due.isoformat(), "due_from": start.isoformat(), "due_days": days,
                "due_unverified": bool(self.calendar.uncovered_years(start, due))}

    def for_category(self, category: str, start: date, paused_days: int = 0) -> dict[str, Any]:
        return self.counted(start, self.limits.get(category, 15), paused_days)

    def sign_by(self, today: date) -> date:
        return self.calendar.add_workdays(today, self.settings.sign_days)

    def return_by(self, today: date) -> date:
        return self.calendar.add_workdays(today, self.settings.return_days)

    def yellow_until(self, today: date) -> date:
        return self.calendar.add_workdays(today, self.settings.yellow_days)

    def colour(self, t: Ticket, today: date) -> str:
        return colour_of(t.status, t.due_date, t.closed_on_time, today, self.yellow_until(today))

    def colour_clause(self, colour: str, today: date) -> ColumnElement[bool]:
        """The SQL twin of ``colour_of`` for list filters."""
        return colour_clause(colour, today, self.yellow_until(today))


FINISHED = ("closed", "archived")
# A paused ticket's clock is stopped (workflow docstring): neither due soon nor overdue until it resumes.
NOT_RUNNING = ("rejected", "merged", "paused")


def colour_of(status: str, due: date, closed_on_time: bool | None, today: date, yellow_until: date) -> str:
    """Closed tickets keep the colour of how they ended; open ones compare today with the deadline."""
    if status in FINISHED and closed_on_time is not None:
        return "green" if closed_on_time else "red"
    if status in NOT_RUNNING or status in FINISHED:
        return "green"
    if today > due:
        return "red"
    if due <= yellow_until:
        return "yellow"
    return "green"


def colour_clause(colour: str, today: date, yellow_until: date) -> ColumnElement[bool]:
    finished = and_(Ticket.status.in_(FINISHED), Ticket.closed_on_time.is_not(None))
    running = and_(Ticket.status.not_in(FINISHED + NOT_RUNNING))
    if colour == "red":
        return or_(and_(finished, Ticket.closed_on_time.is_(False)), and_(running, Ticket.due_date < today))
    if colour == "yellow":
        return and_(running, Ticket.due_date >= today, Ticket.due_date <= yellow_until)
    return or_(
        and_(finished, Ticket.closed_on_time.is_(True)),
        Ticket.status.in_(NOT_RUNNING),
        and_(Ticket.status.in_(FINISHED), Ticket.closed_on_time.is_(None)),
        and_(running, Ticket.due_date > yellow_until),
    )
