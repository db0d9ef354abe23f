"""A holiday source that knows only the years a test names, so tests of uncovered years do not
depend on which years the installed holiday package has reached."""

from __future__ import annotations

from datetime import date

from callcore.tickets.calendar import PACKAGE


class OnlyYears:
    def __init__(self, *years: int) -> None:
        self.years = frozenset(years)

    def is_workday(self, day: date) -> bool | None:
        return PACKAGE.is_workday(day) if day.year in self.years else None
