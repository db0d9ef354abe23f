"""The working-day calendar of deadlines (W-7): China's public holidays and make-up days (调休).

Holidays come from the maintained ``chinesecalendar`` package (State Council notices); admins'
overrides stored in ``calendar_overrides`` win over it. For a year the package does not cover
(it covers up to the last published notice, 2026 in version 1.11) the calendar falls back to
Monday–Friday plus the overrides, and ``covered(year)`` says so, so admins know to enter them.

A year is *covered* (its deadlines are verified) when the holiday package has its data, or when the
admins have entered that year's notice, which the calendar recognises by an override marking
1 January (元旦, the first holiday of every State Council notice) as a holiday. A deadline counted
across a year that is not covered is flagged ``due_unverified`` until a calendar change covers it.
The package is reached through ``HolidaySource`` so tests do not depend on which years it knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select

from callcore.store.db import Database
from callcore.tickets.models import CalendarOverride

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_date(at: datetime) -> date:
    """The calendar day in China of an aware UTC datetime: deadlines are days in local time."""
    return at.astimezone(LOCAL_TZ).date()


class HolidaySource(Protocol):
    """Official working days: ``None`` for a day the source has no data for."""

    def is_workday(self, day: date) -> bool | None: ...


class PackageHolidays:
    """The ``chinesecalendar`` package's answer."""

    def is_workday(self, day: date) -> bool | None:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return None


PACKAGE = PackageHolidays()


def covered(year: int, source: HolidaySource = PACKAGE) -> bool:
    """True when the holiday source knows this year's holidays and make-up days."""
    return all(source.is_workday(d) is not None for d in (date(year, 1, 1), date(year, 12, 31)))


class WorkCalendar:
    """Answers "is this a working day" and adds working days; overrides are a plain mapping."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, source: HolidaySource = PACKAGE) -> None:
        self.overrides: dict[date, bool] = dict(overrides or {})
        self.source = source

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        official = self.source.is_workday(day)
        return day.weekday() < 5 if official is None else official

    def covers(self, year: int) -> bool:
        """The holiday source knows the year, or admins entered its notice (1 January marked a holiday)."""
        return covered(year, self.source) or self.overrides.get(date(year, 1, 1)) is False

    def uncovered_years(self, start: date, end: date) -> list[int]:
        """The years from ``start`` to ``end`` whose holidays nobody has confirmed."""
        return [y for y in range(start.year, max(start, end).year + 1) if not self.covers(y)]

    def add_workdays(self, start: date, days: int) -> date:
        """The deadline ``days`` working days after ``start``, counted from the day after (W-7).

        ``days == 0`` means the same day (emergencies): ``start`` itself.
        """
        if days <= 0:
            return start
        day, left = start, days
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days ``end`` is past ``start``."""
        if end <= start:
            return 0
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                n += 1
        return n

    def colour(self, due: date, today: date, *, yellow_days: int = 1, closed_on_time: bool | None = None,
               closed: bool = False) -> str:
        """W-8: green within the limit, yellow when due within ``yellow_days`` working days, red overdue."""
        if closed:
            return "green" if closed_on_time else "red"
        if today > due:
            return "red"
        if due <= self.add_workdays(today, yellow_days):
            return "yellow"
        return "green"


async def load_calendar(db: Database, source: HolidaySource = PACKAGE) -> WorkCalendar:
    async with db.session() as s:
        rows = await s.scalars(select(CalendarOverride))
        return WorkCalendar({r.day: r.workday for r in rows}, source)
