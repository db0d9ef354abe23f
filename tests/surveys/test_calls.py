"""W-12's automatic survey calls: which sampled tickets are due, in which hours, how often."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from callcore.callbacks.settings import CallbackSettings
from callcore.calls.outbound import NumberPolicy
from callcore.store.db import Database
from callcore.surveys.calls import SurveyCaller
from callcore.surveys.flow import SurveyFlow
from callcore.surveys.models import SurveyCall
from callcore.surveys.settings import SurveySettings
from callcore.tickets.services import NewTicket, TicketService
from tests.surveys.helpers import AGENT, SUPERVISOR

NOON = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)  # 12:00 in Beijing


class Trunk:
    """What the caller asks of the outbound dialer before dialling: the policy, and a trunk."""

    def __init__(self, configured: bool = True) -> None:
        self.policy = NumberPolicy.parse(CallbackSettings().allowed_prefixes)
        self.configured = configured


async def sampled(tickets: TicketService, phone: str) -> str:
    ticket, _ = await tickets.create(AGENT, NewTicket(category="help", content="路灯不亮", phone=phone))
    await tickets.act(AGENT, ticket.id, "answer", {"reply": "已处理"})
    await tickets.act(SUPERVISOR, ticket.id, "sample")
    return ticket.id


def caller(db: Database, tickets: TicketService, tmp_path: Path, trunk: Any, **settings: Any) -> SurveyCaller:
    s = SurveySettings(**settings)
    return SurveyCaller(db=db, tickets=tickets, outbound=trunk, settings=s, clock=lambda: NOON,
                        flow=SurveyFlow(settings=s, sounds_dir=tmp_path, store=None))


async def test_sampled_tickets_are_due_until_rated_or_tried_enough(db: Database, tmp_path: Path) -> None:
    tickets = TicketService(db)
    first = await sampled(tickets, "13960003001")
    second = await sampled(tickets, "13960003002")
    await sampled(tickets, "96881")  # a number the hotline may not dial
    unsampled, _ = await tickets.create(AGENT, NewTicket(category="help", content="噪音", phone="13960003004"))
    job = caller(db, tickets, tmp_path, Trunk(), call_attempts=2, call_gap_minutes=60)
    assert [(t, n) for t, _, n in await job.due(NOON)] == [(first, 1), (second, 1)]
    async with db.session() as s:
        s.add(SurveyCall(id=str(uuid.uuid4()), ticket_id=first, call_id="c1", n=1, started_at=NOON - timedelta(minutes=30),
                         outcome="no_answer"))
        s.add(SurveyCall(id=str(uuid.uuid4()), ticket_id=second, call_id="c2", n=1, started_at=NOON - timedelta(hours=3),
                         outcome="not_rated"))
    # first: too soon after its no-answer; second: answered without a key, left to a person.
    assert await job.due(NOON) == []
    assert [(t, n) for t, _, n in await job.due(NOON + timedelta(minutes=31))] == [(first, 2)]
    async with db.session() as s:
        s.add(SurveyCall(id=str(uuid.uuid4()), ticket_id=first, call_id="c3", n=2, started_at=NOON, outcome="busy"))
    assert await job.due(NOON + timedelta(days=1)) == []  # two tries: enough
    assert unsampled.id not in {t for t, _, _ in await job.due(NOON)}


async def test_no_calls_at_night_without_a_trunk_or_when_off(db: Database, tmp_path: Path) -> None:
    tickets = TicketService(db)
    await sampled(tickets, "13960003011")
    job = caller(db, tickets, tmp_path, Trunk())
    assert job.calling_hours(NOON) and not job.calling_hours(NOON + timedelta(hours=12))  # midnight in Beijing
    assert await caller(db, tickets, tmp_path, Trunk(configured=False)).run_once() == 0
    assert await caller(db, tickets, tmp_path, Trunk(), calls=False).run_once() == 0
    night = caller(db, tickets, tmp_path, Trunk())
    night.clock = lambda: NOON + timedelta(hours=12)
    assert await night.run_once() == 0
