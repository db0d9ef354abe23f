"""The reference data admins manage for the workflow: categories with their time limits (W-2, W-7)
and the corrections of the working-day calendar (调休). A change reloads the service's deadlines,
so the next ticket is dated by it; a calendar change also recounts the deadlines of open tickets,
each as a system event (``TicketService.recompute_deadlines``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from callcore.core.errors import NotFound
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.calendar import covered, local_date
from callcore.tickets.models import CalendarOverride, Category
from callcore.tickets.services import TicketService


async def categories(service: TicketService, *, active_only: bool = False) -> list[Category]:
    """The categories by code (the defaults are seeded into an empty table first)."""
    await service.deadlines()
    q = select(Category).order_by(Category.code)
    if active_only:
        q = q.where(Category.active.is_(True))
    async with service.db.session() as s:
        return list(await s.scalars(q))


async def category_name(db: Database, code: str) -> str:
    """The category's name; its code when there is no such category."""
    async with db.session() as s:
        category = await s.get(Category, code)
    return category.name if category else code


async def put_category(service: TicketService, code: str, *, name: str, limit_days: int,
                       active: bool = True) -> Category:
    """Creates or changes a category; new tickets of it get the new time limit."""
    async with service.db.session() as s:
        category = await s.get(Category, code)
        if category is None:
            category = Category(code=code, name=name, limit_days=limit_days, active=active)
            s.add(category)
        else:
            category.name, category.limit_days, category.active = name, limit_days, active
    await service.reload()
    return category


async def overrides(db: Database) -> list[CalendarOverride]:
    async with db.session() as s:
        return list(await s.scalars(select(CalendarOverride).order_by(CalendarOverride.day)))


def _years(today: date | None) -> range:
    today = today or local_date(utcnow())
    return range(today.year - 1, today.year + 2)


def holiday_data_years(today: date | None = None) -> dict[str, bool]:
    """Whether the holiday package covers last year, this year and next year: admins enter the
    overrides of a year it does not."""
    return {str(y): covered(y) for y in _years(today)}


async def covered_years(service: TicketService, today: date | None = None) -> dict[str, bool]:
    """Whether deadlines in last year, this year and next year are verified: the package knows the
    year or the admins entered it (``calendar.WorkCalendar.covers``)."""
    cal = (await service.deadlines()).calendar
    return {str(y): cal.covers(y) for y in _years(today)}


async def put_override(service: TicketService, day: date, *, workday: bool, note: str = "") -> CalendarOverride:
    """Marks a day as a working day or a holiday, whatever the holiday package says."""
    async with service.db.session() as s:
        row = await s.get(CalendarOverride, day)
        if row is None:
            row = CalendarOverride(day=day, workday=workday, note=note)
            s.add(row)
        else:
            row.workday, row.note = workday, note
    await service.reload()
    await service.recompute_deadlines("calendar change", year=day.year)
    return row


async def delete_override(service: TicketService, day: date) -> None:
    """Back to the holiday package's answer for that day; ``NotFound`` when there is no override."""
    async with service.db.session() as s:
        row = await s.get(CalendarOverride, day)
        if row is None:
            raise NotFound(f"no override on {day.isoformat()}")
        await s.delete(row)
    await service.reload()
    await service.recompute_deadlines("calendar change", year=day.year)
