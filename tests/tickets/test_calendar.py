"""Working-day arithmetic across the 2026 Spring Festival and National Day weeks (with their make-up
days), the fallback for years the holiday package does not cover, and admins' overrides."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from callcore.store.db import Database
from callcore.tickets.calendar import WorkCalendar, covered, load_calendar, local_date
from callcore.tickets.deadlines import colour_of
from callcore.tickets.models import CalendarOverride
from tests.tickets.holidays import OnlyYears

CAL = WorkCalendar()


@pytest.mark.parametrize(("received", "days", "due"), [
    # Spring Festival 2026: 15–23 Feb off, Sat 14 Feb and Sat 28 Feb are make-up working days.
    (date(2026, 2, 13), 5, date(2026, 2, 27)),
    (date(2026, 2, 12), 5, date(2026, 2, 26)),
    (date(2026, 2, 12), 15, date(2026, 3, 11)),
    (date(2026, 2, 16), 1, date(2026, 2, 24)),
    (date(2026, 2, 27), 1, date(2026, 2, 28)),
    (date(2026, 2, 17), 0, date(2026, 2, 17)),  # emergency: the same day, even on a holiday
    # Mid-autumn 25–27 Sep, National Day 1–7 Oct 2026; Sun 20 Sep and Sat 10 Oct are working days.
    (date(2026, 9, 18), 5, date(2026, 9, 24)),
    (date(2026, 9, 30), 5, date(2026, 10, 13)),
    (date(2026, 9, 24), 2, date(2026, 9, 29)),
    (date(2026, 9, 30), 30, date(2026, 11, 17)),
])
def test_deadlines_across_holidays(received: date, days: int, due: date) -> None:
    assert CAL.add_workdays(received, days) == due


def test_make_up_days_and_holidays() -> None:
    assert CAL.is_workday(date(2026, 2, 14)) and CAL.is_workday(date(2026, 2, 28))
    assert not CAL.is_workday(date(2026, 2, 18)) and not CAL.is_workday(date(2026, 10, 5))
    assert CAL.is_workday(date(2026, 9, 20)) and CAL.is_workday(date(2026, 10, 10))
    assert CAL.workdays_between(date(2026, 2, 13), date(2026, 2, 27)) == 5
    assert CAL.workdays_between(date(2026, 2, 27), date(2026, 2, 13)) == 0


def test_uncovered_year_falls_back_to_weekends_plus_overrides() -> None:
    """Independent of the years the installed package knows (it will ship 2027 one day)."""
    only_2026 = OnlyYears(2026)
    assert covered(2026, only_2026) and not covered(2027, only_2026)
    assert covered(2026) and not covered(2200)  # the real package: a year it will never know
    cal = WorkCalendar(source=only_2026)
    assert cal.add_workdays(date(2027, 1, 29), 5) == date(2027, 2, 5)
    cal = WorkCalendar({date(2027, 2, 3): False, date(2027, 2, 6): True}, only_2026)
    assert cal.add_workdays(date(2027, 1, 29), 5) == date(2027, 2, 6)


def test_covered_years_and_unverified_spans() -> None:
    """A year counts as covered when the source knows it or admins marked its 1 January a holiday."""
    cal = WorkCalendar(source=OnlyYears(2026))
    assert cal.covers(2026) and not cal.covers(2027)
    assert cal.uncovered_years(date(2026, 12, 1), date(2027, 1, 12)) == [2027]
    assert cal.uncovered_years(date(2026, 3, 1), date(2026, 4, 1)) == []
    entered = WorkCalendar({date(2027, 1, 1): False}, OnlyYears(2026))
    assert entered.covers(2027) and entered.uncovered_years(date(2026, 12, 1), date(2027, 1, 12)) == []
    # A make-up working day alone is not the year's notice.
    assert not WorkCalendar({date(2027, 2, 6): True}, OnlyYears(2026)).covers(2027)


def test_override_beats_the_package() -> None:
    cal = WorkCalendar({date(2026, 2, 24): False, date(2026, 2, 21): True})
    assert cal.add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 21)


def test_local_date_is_beijing() -> None:
    assert local_date(datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc)) == date(2026, 10, 1)


def test_colour() -> None:
    today, yellow_until = date(2026, 9, 30), CAL.add_workdays(date(2026, 9, 30), 1)
    assert yellow_until == date(2026, 10, 8)
    assert colour_of("processing", date(2026, 10, 13), None, today, yellow_until) == "green"
    assert colour_of("processing", date(2026, 10, 8), None, today, yellow_until) == "yellow"
    assert colour_of("processing", date(2026, 9, 30), None, today, yellow_until) == "yellow"
    assert colour_of("processing", date(2026, 9, 29), None, today, yellow_until) == "red"
    assert colour_of("closed", date(2026, 9, 1), False, today, yellow_until) == "red"
    assert colour_of("closed", date(2026, 9, 1), True, today, yellow_until) == "green"
    assert CAL.colour(date(2026, 9, 29), today) == "red"


async def test_overrides_from_the_database(db: Database) -> None:
    async with db.session() as s:
        s.add(CalendarOverride(day=date(2027, 2, 3), workday=False, note="春节（待国务院通知）"))
    cal = await load_calendar(db, OnlyYears(2026))
    assert not cal.is_workday(date(2027, 2, 3)) and cal.is_workday(date(2027, 2, 4))
