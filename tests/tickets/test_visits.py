"""Callback sampling (W-12): a stable share of closed tickets, once, then the rating is recorded."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from callcore.store.db import Database
from callcore.tickets.services import NewTicket, TicketService
from callcore.tickets.visits import VisitSampler, chosen
from tests.tickets.conftest import AGENT, DISPATCHER

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def test_choice_is_stable_and_near_the_rate() -> None:
    ids = [f"t-{i}" for i in range(4000)]
    share = sum(chosen(i, 0.2) for i in ids) / len(ids)
    assert 0.17 < share < 0.23
    assert [chosen(i, 0.2) for i in ids[:50]] == [chosen(i, 0.2) for i in ids[:50]]
    assert not any(chosen(i, 0.0) for i in ids) and all(chosen(i, 1.0) for i in ids)


async def test_sampling_once_then_rating(db: Database, service: TicketService) -> None:
    svc = TicketService(db, replace(service.settings, visit_sample_rate=1.0))
    ids = []
    for i in range(5):
        t, _ = await svc.create(AGENT, NewTicket(category="consultation", content=f"问{i}", received_at=T0))
        await svc.act(AGENT, t.id, "answer", {"reply": "答复"}, now=T0)
        ids.append(t.id)
    other_db = Database(db.url)
    try:
        other = VisitSampler(TicketService(other_db, svc.settings))
        made = await asyncio.gather(VisitSampler(svc).run_once(T0 + timedelta(hours=1)),
                                    other.run_once(T0 + timedelta(hours=1)))
    finally:
        await other_db.close()
    assert sum(made) == 5
    assert await VisitSampler(svc).run_once(T0 + timedelta(hours=2)) == 0
    done = await svc.act(AGENT, ids[0], "rate", {"rating": "unsatisfied"}, now=T0)
    assert done.visit == "done" and done.satisfaction == "unsatisfied"
    view = await svc.get(DISPATCHER, ids[1])
    assert [e.action for e in view.events] == ["create", "answer", "sample"]
