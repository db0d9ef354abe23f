from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from callcore.routing.hours import BusinessHours, DayHours
from callcore.routing.hours import is_open

SH = ZoneInfo("Asia/Shanghai")
WEEK = {d: DayHours(intervals=((510, 720), (810, 1050))) for d in range(5)}


def hours(holidays: str = "cn", closed: frozenset[str] = frozenset()) -> BusinessHours:
    return BusinessHours(timezone="Asia/Shanghai", weekly=WEEK, holidays=holidays, closed_dates=closed)


def test_weekday_intervals() -> None:
    h = hours()
    assert is_open(h, datetime(2026, 11, 23, 9, 0, tzinfo=SH))  # Monday morning
    assert not is_open(h, datetime(2026, 11, 23, 12, 30, tzinfo=SH))  # lunch
    assert not is_open(h, datetime(2026, 11, 23, 17, 30, tzinfo=SH))  # end exclusive
    assert not is_open(h, datetime(2026, 11, 22, 10, 0, tzinfo=SH))  # Sunday


def test_timezone_is_applied() -> None:
    # 01:00 UTC is 09:00 in Shanghai.
    assert is_open(hours(), datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))


def test_statutory_holiday_and_adjusted_workday() -> None:
    h = hours()
    assert not is_open(h, datetime(2026, 10, 1, 9, 0, tzinfo=SH))  # National Day, a Thursday
    assert is_open(hours("none"), datetime(2026, 10, 1, 9, 0, tzinfo=SH))
    assert is_open(h, datetime(2026, 1, 4, 9, 0, tzinfo=SH))  # Sunday 4 Jan 2026 is a working day (调休)


def test_closed_dates_and_unknown_years() -> None:
    assert not is_open(hours(closed=frozenset({"2026-11-23"})), datetime(2026, 11, 23, 9, 0, tzinfo=SH))
    assert is_open(hours(), datetime(2031, 3, 3, 9, 0, tzinfo=SH))  # a Monday the calendar does not know
