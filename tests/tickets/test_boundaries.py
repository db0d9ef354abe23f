"""Issue 15: the edges of every date rule, where a `<=` that became `<` went unnoticed.

W-6 (sign within 1 working day, return within 2), W-7 (deadlines counted from the day after receipt),
W-8 (green, yellow when due soon, red overdue), W-9 (an extension is asked before the deadline and must
move it), W-11 (closing on the due day is on time). Each rule is checked on its last good day and on
the first bad one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from callcore.tickets.calendar import WorkCalendar
from callcore.tickets.deadlines import Deadlines, colour_of
from callcore.store.db import Database
from callcore.tickets.errors import BadTicketInput, IllegalTransition
from callcore.tickets.models import CalendarOverride, Category
from callcore.tickets.settings import TicketSettings
from callcore.tickets.workflow import Step, TicketState, apply

# 2026-03-02 is a Monday with no holiday near it; 2026-03-06 a Friday.
MON = date(2026, 3, 2)
FRI = date(2026, 3, 6)
DUE = date(2026, 3, 9)  # a Monday
LEAD = "dep-a"
DAY = timedelta(days=1)

PROCESSING = TicketState(status="processing", mode="transfer", department_id=LEAD, due_date=DUE, sign_by=MON,
                         return_by=date(2026, 3, 4))
REPLIED = replace(PROCESSING, status="replied", satisfaction="satisfied")


def _handler(action: str, today: date, **data: object) -> Step:
    return Step(action=action, role="handler", actor_department_id=LEAD, today=today, data=dict(data))


def _center(action: str, today: date, role: str = "dispatcher", **data: object) -> Step:
    return Step(action=action, role=role, today=today, data=dict(data))


def _deadlines(**settings: int) -> Deadlines:
    return Deadlines(calendar=WorkCalendar(), settings=TicketSettings(**settings),  # type: ignore[arg-type]
                     limits={"consultation": 5, "complaint": 15, "report": 30, "emergency": 0})


# --- W-11: closing on the due day is on time --------------------------------------------------------

def test_closing_on_the_due_day_is_on_time_and_the_day_after_is_late() -> None:
    on_day = apply(REPLIED, _center("close", DUE))
    assert (on_day.status, on_day.closed_on, on_day.closed_on_time) == ("closed", DUE, True)
    late = apply(REPLIED, _center("close", DUE + DAY))
    assert (late.closed_on, late.closed_on_time) == (DUE + DAY, False)
    assert apply(REPLIED, _center("close", DUE - DAY)).closed_on_time is True


def test_answering_at_intake_on_the_due_day_is_on_time_and_the_day_after_is_late() -> None:
    new = TicketState(due_date=DUE)
    assert apply(new, _center("answer", DUE, role="agent", reply="已答复")).closed_on_time is True
    assert apply(new, _center("answer", DUE + DAY, role="agent", reply="已答复")).closed_on_time is False


# --- W-6: the return period and the signing period ---------------------------------------------------

def test_the_return_period_is_two_working_days_after_the_dispatch() -> None:
    d = _deadlines()
    assert d.settings.return_days == 2 and d.settings.sign_days == 1
    assert d.return_by(MON) == date(2026, 3, 4)
    assert d.return_by(FRI) == date(2026, 3, 10)  # the weekend does not count
    assert d.sign_by(MON) == date(2026, 3, 3)
    assert d.sign_by(FRI) == date(2026, 3, 9)


def test_a_return_on_the_last_day_of_the_period_is_accepted_and_the_day_after_refused() -> None:
    dispatched = replace(PROCESSING, status="dispatched", return_by=_deadlines().return_by(MON))
    returned = apply(dispatched, _handler("return", date(2026, 3, 4), reason="非本单位职责"))
    assert (returned.status, returned.department_id, returned.return_count) == ("returned", None, 1)
    with pytest.raises(IllegalTransition, match="return period ended on 2026-03-04"):
        apply(dispatched, _handler("return", date(2026, 3, 5), reason="非本单位职责"))


# --- W-9: extensions ---------------------------------------------------------------------------------

def test_an_extension_until_the_current_deadline_is_refused_and_the_day_after_accepted() -> None:
    with pytest.raises(BadTicketInput, match="after the current deadline 2026-03-09") as err:
        apply(PROCESSING, _handler("request_extension", MON, until=DUE.isoformat(), reason="需协调"))
    assert err.value.error_id == "invalid_input"
    with pytest.raises(BadTicketInput):
        apply(PROCESSING, _handler("request_extension", MON, until=(DUE - DAY).isoformat(), reason="需协调"))
    asked = apply(PROCESSING, _handler("request_extension", MON, until=(DUE + DAY).isoformat(), reason="需协调"))
    assert asked.extension_until == DUE + DAY and asked.due_date == DUE


def test_an_extension_asked_on_the_due_day_is_accepted_and_the_day_after_is_too_late() -> None:
    asked = apply(PROCESSING, _handler("request_extension", DUE, until="2026-03-20", reason="需协调"))
    assert asked.extension_until == date(2026, 3, 20)
    with pytest.raises(IllegalTransition, match="too late: the deadline was 2026-03-09"):
        apply(PROCESSING, _handler("request_extension", DUE + DAY, until="2026-03-20", reason="需协调"))


def test_an_extension_needs_a_reason_and_a_date() -> None:
    with pytest.raises(BadTicketInput, match="reason"):
        apply(PROCESSING, _handler("request_extension", MON, until="2026-03-20", reason="  "))
    with pytest.raises(BadTicketInput, match="YYYY-MM-DD"):
        apply(PROCESSING, _handler("request_extension", MON, until="next week", reason="需协调"))


def test_approving_moves_the_deadline_and_counts_refusing_keeps_it() -> None:
    asked = apply(PROCESSING, _handler("request_extension", MON, until="2026-03-20", reason="需协调"))
    approved = apply(asked, _center("approve_extension", MON, role="supervisor"))
    assert (approved.due_date, approved.extension_until, approved.extension_count) == (date(2026, 3, 20), None, 1)
    refused = apply(asked, _center("refuse_extension", MON, role="supervisor"))
    assert (refused.due_date, refused.extension_until, refused.extension_count) == (DUE, None, 0)


# --- W-7: deadlines ----------------------------------------------------------------------------------

@pytest.mark.parametrize("category,received,due", [
    ("emergency", FRI, FRI),                    # same day
    ("consultation", MON, date(2026, 3, 9)),    # 5 working days from the day after receipt
    ("consultation", FRI, date(2026, 3, 13)),
    ("complaint", MON, date(2026, 3, 23)),
    ("report", MON, date(2026, 4, 14)),          # 30 working days; Qingming (Mon 6 Apr 2026) skipped
    ("unknown-category", MON, date(2026, 3, 23)),  # an unknown category gets the general 15 days
])
def test_due_dates_count_working_days_from_the_day_after_receipt(category: str, received: date, due: date) -> None:
    assert _deadlines().due(category, received) == due


def test_working_days_between_counts_the_end_and_not_the_start() -> None:
    cal = WorkCalendar()
    assert cal.workdays_between(MON, MON) == 0
    assert cal.workdays_between(MON, MON - DAY) == 0
    assert cal.workdays_between(MON, MON + DAY) == 1
    assert cal.workdays_between(FRI, date(2026, 3, 9)) == 1  # Sat and Sun are not counted
    assert cal.workdays_between(FRI, date(2026, 3, 8)) == 0
    assert cal.add_workdays(MON, -1) == MON


def test_an_override_wins_both_ways() -> None:
    cal = WorkCalendar({date(2026, 3, 7): True, date(2026, 3, 3): False})
    assert cal.is_workday(date(2026, 3, 7)) and not cal.is_workday(date(2026, 3, 3))
    assert cal.add_workdays(MON, 1) == date(2026, 3, 4)
    assert cal.add_workdays(FRI, 1) == date(2026, 3, 7)


# --- W-8: colour ---------------------------------------------------------------------------------

@pytest.mark.parametrize("today,colour", [
    (DUE + DAY, "red"),
    (DUE, "yellow"),            # due today: not yet overdue
    (FRI, "yellow"),            # due on the next working day (yellow_days = 1)
    (date(2026, 3, 5), "green"),  # due two working days away
])
def test_colour_on_each_side_of_the_deadline(today: date, colour: str) -> None:
    d = _deadlines()
    assert colour_of("processing", DUE, None, today, d.yellow_until(today)) == colour
    assert d.calendar.colour(DUE, today) == colour


def test_colour_of_finished_tickets_is_how_they_ended() -> None:
    late_day = DUE + timedelta(days=30)
    assert colour_of("closed", DUE, True, late_day, late_day) == "green"
    assert colour_of("closed", DUE, False, MON, MON) == "red"
    assert colour_of("archived", DUE, False, MON, MON) == "red"
    assert colour_of("archived", DUE, None, late_day, late_day) == "green"
    assert colour_of("rejected", DUE, None, late_day, late_day) == "green"
    assert colour_of("merged", DUE, None, late_day, late_day) == "green"
    cal = WorkCalendar()
    assert cal.colour(DUE, late_day, closed=True, closed_on_time=True) == "green"
    assert cal.colour(DUE, MON, closed=True, closed_on_time=False) == "red"


def test_yellow_days_is_configurable() -> None:
    d = _deadlines(yellow_days=3)
    assert d.yellow_until(MON) == date(2026, 3, 5)
    assert colour_of("processing", date(2026, 3, 5), None, MON, d.yellow_until(MON)) == "yellow"
    assert colour_of("processing", FRI, None, MON, d.yellow_until(MON)) == "green"
    assert WorkCalendar().colour(date(2026, 3, 5), MON, yellow_days=3) == "yellow"
    assert WorkCalendar().colour(FRI, MON, yellow_days=3) == "green"


async def test_deadlines_load_the_categories_limits_and_the_overrides(db: Database) -> None:
    """W-7 "configurable per category", and admins' calendar edits: both come from the store."""
    async with db.session() as s:
        s.add(Category(code="consultation", name="咨询", limit_days=2))
        s.add(CalendarOverride(day=date(2026, 3, 3), workday=False))
    d = await Deadlines.load(db, TicketSettings(sign_days=3))
    assert d.limits == {"consultation": 2} and d.settings.sign_days == 3
    assert d.due("consultation", MON) == date(2026, 3, 5)  # Tue 3 Mar made a day off
    assert d.sign_by(MON) == date(2026, 3, 6)


class _KnowsUpTo2026:
    """Official holiday data for 2026 and before only, as a holiday package would have it."""

    def is_workday(self, day: date) -> bool | None:
        return None if day.year > 2026 else day.weekday() < 5


def test_a_counted_deadline_keeps_its_basis_and_the_working_days_paused() -> None:
    d = _deadlines()
    assert d.for_category("consultation", MON) == {
        "due_date": "2026-03-09", "due_from": "2026-03-02", "due_days": 5, "due_unverified": False}
    # Two working days paused move the deadline by two working days; the basis stays the category's limit.
    assert d.for_category("consultation", MON, paused_days=2) == {
        "due_date": "2026-03-11", "due_from": "2026-03-02", "due_days": 5, "due_unverified": False}
    assert d.for_category("no-such-category", MON)["due_days"] == 15
    assert d.counted(FRI, 0) == {"due_date": "2026-03-06", "due_from": "2026-03-06", "due_days": 0,
                                 "due_unverified": False}


def test_a_deadline_reaching_a_year_without_holiday_data_is_flagged() -> None:
    d = Deadlines(calendar=WorkCalendar(source=_KnowsUpTo2026()), settings=TicketSettings(), limits={"report": 30})
    within = d.for_category("report", date(2026, 11, 2))
    assert (within["due_date"], within["due_unverified"]) == ("2026-12-14", False)
    across = d.for_category("report", date(2026, 12, 14))
    assert (across["due_date"], across["due_unverified"]) == ("2027-01-25", True)
