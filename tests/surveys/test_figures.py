"""The agent's survey figures (T-14) in the call figures: count and mean key of the inbound
ratings on the calls' timelines, per agent and in total, on both backends."""

from __future__ import annotations

from datetime import timedelta

from callcore.queues.queries import call_figures
from callcore.store.db import Database
from tests.surveys.helpers import T0, add_call


async def test_ratings_per_agent_and_in_total(db: Database) -> None:
    await add_call(db, "a1", rating=1)
    await add_call(db, "a2", rating=2, at=T0 + timedelta(minutes=5))
    await add_call(db, "a3", at=T0 + timedelta(minutes=10))  # not rated
    await add_call(db, "b1", agent="6002", rating=4)
    # An outbound survey call rates a ticket, not an agent: left out.
    await add_call(db, "o1", agent=None, rating=1, kind="outbound")
    since, until = T0 - timedelta(hours=1), T0 + timedelta(hours=1)
    by_agent = {f.key: f for f in await call_figures(db, since, until, "agent", now=until)}
    assert (by_agent["6001"].ratings, by_agent["6001"].average_rating) == (2, 1.5)
    assert (by_agent["6002"].ratings, by_agent["6002"].average_rating) == (1, 4.0)
    assert (by_agent[None].ratings, by_agent[None].average_rating) == (0, None)
    [total] = await call_figures(db, since, until, "total", now=until)
    assert total.ratings == 3 and abs((total.average_rating or 0) - 7 / 3) < 1e-9
    [empty] = await call_figures(db, until, until + timedelta(hours=1), "total", now=until)
    assert (empty.ratings, empty.average_rating) == (0, None)
