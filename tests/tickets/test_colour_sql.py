"""W-8, issue 15: the SQL colour filter (``colour_clause``) says what ``colour_of`` says, on every backend.

List filters (``?colour=yellow``) run in SQL while screens colour each ticket in Python; a bound lost
in one of them lists tickets under the wrong colour. Hypothesis draws sets of tickets (every status,
deadlines around today, every closed-on-time value) and a yellow window; each colour's query must
return exactly the tickets ``colour_of`` gives that colour, and every ticket must have one colour.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from callcore.store.db import Database
from callcore.tickets.calendar import WorkCalendar
from callcore.tickets.deadlines import COLOURS, Deadlines, colour_clause, colour_of
from callcore.tickets.models import Category, Ticket
from callcore.tickets.settings import TicketSettings
from callcore.tickets.workflow import STATUSES

TODAY = date(2026, 3, 11)
RECEIVED = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)

ROW = st.tuples(st.sampled_from(STATUSES), st.integers(-4, 6), st.sampled_from([None, True, False]))


async def _colours_in_sql(db: Database, today: date, yellow_until: date) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    async with db.session() as s:
        for colour in COLOURS:
            found[colour] = set(await s.scalars(select(Ticket.id).where(colour_clause(colour, today, yellow_until))))
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=12), yellow_days=st.integers(0, 4))
async def test_the_sql_filter_agrees_with_colour_of(db: Database, rows: list[tuple[str, int, bool | None]],
                                                    yellow_days: int) -> None:
    yellow_until = TODAY + timedelta(days=yellow_days)
    expected: dict[str, set[str]] = {c: set() for c in COLOURS}
    async with db.session() as s:
        await s.execute(delete(Ticket))
        if await s.get(Category, "help") is None:
            s.add(Category(code="help", name="求助", limit_days=5))
        await s.flush()
        for i, (status, offset, on_time) in enumerate(rows):
            due = TODAY + timedelta(days=offset)
            s.add(Ticket(id=f"t-{i}", number=f"N{i}", query_code=f"Q{i}", category="help", received_at=RECEIVED,
                         status=status, due_date=due, closed_on_time=on_time))
            expected[colour_of(status, due, on_time, TODAY, yellow_until)].add(f"t-{i}")
    assert await _colours_in_sql(db, TODAY, yellow_until) == expected


async def test_the_yellow_window_edges_in_sql(db: Database) -> None:
    """The rows on each edge, named: due yesterday (red), today and on the window's last day (yellow), the
    day after it (green)."""
    yellow_until = TODAY + timedelta(days=2)
    async with db.session() as s:
        s.add(Category(code="help", name="求助", limit_days=5))
        await s.flush()
        for name, offset in (("yesterday", -1), ("today", 0), ("last", 2), ("after", 3)):
            s.add(Ticket(id=name, number=name, query_code=name, category="help", received_at=RECEIVED,
                         status="processing", due_date=TODAY + timedelta(days=offset)))
        # Closed late though its deadline is still ahead (a deadline moved after closing): red as it ended.
        s.add(Ticket(id="closed_late", number="closed_late", query_code="closed_late", category="help",
                     received_at=RECEIVED, status="closed", due_date=TODAY + timedelta(days=3), closed_on_time=False))
    assert await _colours_in_sql(db, TODAY, yellow_until) == {
        "red": {"yesterday", "closed_late"}, "yellow": {"today", "last"}, "green": {"after"}}
    # The same through ``Deadlines``, whose yellow window is counted in working days (Wed 11 Mar + 2 = Fri 13).
    deadlines = Deadlines(calendar=WorkCalendar(), settings=TicketSettings(yellow_days=2), limits={})
    async with db.session() as s:
        for colour in COLOURS:
            rows = list(await s.scalars(select(Ticket).where(deadlines.colour_clause(colour, TODAY))))
            assert {t.id for t in rows} == {"red": {"yesterday", "closed_late"}, "yellow": {"today", "last"},
                                            "green": {"after"}}[colour]
            assert {deadlines.colour(t, TODAY) for t in rows} == {colour}
