"""Is the hotline open now? Weekly hours, extra closed dates and the mainland China holiday calendar.

With ``holidays: cn`` the ``chinesecalendar`` package decides working days: statutory holidays are
closed, adjusted working weekends (调休) open with Monday's hours. It only knows the years the State
Council has published; for other years the weekly hours apply (and a warning is logged once per year).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


@dataclass(frozen=True, kw_only=True)
class DayHours:
    """Opening intervals of one day, minutes since midnight, half-open [start, end)."""

    intervals: tuple[tuple[int, int], ...]


@dataclass(frozen=True, kw_only=True)
class BusinessHours:
    timezone: str
    # weekday (0 = Monday) -> intervals; a missing weekday is closed all day.
    weekly: dict[int, DayHours]
    # "cn": mainland China statutory holidays and adjusted working days (chinesecalendar); "none".
    holidays: str
    closed_dates: frozenset[str] = frozenset()
    line: int = 0


def _cn_workday(day: date) -> bool | None:
    """True/False from the official calendar, None when it does not cover the year."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("holiday calendar has no data for %s: using weekly hours only", day.year)
        return None


def is_open(hours: BusinessHours, at: datetime) -> bool:
    """Whether ``at`` (an aware datetime) falls in the business hours."""
    local = at.astimezone(ZoneInfo(hours.timezone))
    day = local.date()
    if day.isoformat() in hours.closed_dates:
        return False
    weekday = day.weekday()
    if hours.holidays == "cn":
        workday = _cn_workday(day)
        if workday is False:
            return False
        if workday is True and weekday >= 5:
            weekday = 0  # an adjusted working weekend keeps Monday's hours
    today = hours.weekly.get(weekday)
    if today is None:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in today.intervals)
