"""W-12: the automatic survey call about each ticket sampled for a satisfaction callback.

The tickets capability samples closed tickets (``visits.VisitSampler``: ``visit`` becomes
``sampled``); this job calls each sampled ticket's citizen through the outbound trunk, in the
configured local hours, and asks the same keypad survey an inbound caller hears. The rating goes
through ``SurveyService`` (the ticket's ``rate`` step: its ``satisfaction``). The call is linked to
the ticket, recorded on the timeline like any call (direction ``survey``), and each try is a
``survey_calls`` row: a ticket is called at most ``call_attempts`` times, ``call_gap_minutes``
apart, and one that answered without rating is not called again (a person may, by click-to-dial).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from callcore.calls.outbound import OutboundDialer
from callcore.calls.session import CallerHungUp
from callcore.queues.agents import CHINA
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.surveys.flow import SurveyFlow
from callcore.surveys.models import OUTBOUND, SurveyCall
from callcore.surveys.services import SURVEY_PRINCIPAL
from callcore.surveys.settings import SurveySettings
from callcore.surveys.types import SurveySubject
from callcore.tickets.models import Ticket
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)

# Seconds the citizen's phone rings before a survey call counts as not answered.
RING_SECONDS = 30.0
# Outcomes after which a ticket is not called again.
FINAL = frozenset({"rated", "not_rated"})


class SurveyCaller:
    """The periodic job (``run_once``): starts survey calls for the sampled tickets that are due."""

    def __init__(self, *, db: Database, tickets: TicketService, outbound: OutboundDialer, flow: SurveyFlow,
                 settings: SurveySettings, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.tickets = tickets
        self.outbound = outbound
        self.flow = flow
        self.settings = settings
        self.clock = clock
        self.calling: dict[str, asyncio.Task[str]] = {}

    def calling_hours(self, now: datetime) -> bool:
        hour = now.astimezone(CHINA).hour
        return self.settings.call_from_hour <= hour < self.settings.call_until_hour

    async def due(self, now: datetime) -> list[tuple[str, str, int]]:
        """Sampled, unrated tickets with a number that may be dialled, not tried too often or too
        recently: (ticket id, number, the next try's number), oldest closed first."""
        s = self.settings
        tries = (select(SurveyCall.ticket_id, func.count().label("n"), func.max(SurveyCall.started_at).label("last"))
                 .group_by(SurveyCall.ticket_id).subquery())
        finished = select(SurveyCall.ticket_id).where(SurveyCall.outcome.in_(sorted(FINAL)))
        async with self.db.session() as session:
            rows = (await session.execute(
                select(Ticket.id, Ticket.phone, tries.c.n, tries.c.last)
                .outerjoin(tries, tries.c.ticket_id == Ticket.id)
                .where(Ticket.status == "closed", Ticket.visit == "sampled", Ticket.satisfaction.is_(None),
                       Ticket.phone != "", Ticket.id.not_in(finished))
                .order_by(Ticket.closed_at).limit(200))).all()
        out = []
        for ticket_id, phone, n, last in rows:
            n = int(n or 0)
            if n >= s.call_attempts or ticket_id in self.calling or not self.outbound.policy.usable(phone):
                continue
            if last is not None and now - last < timedelta(minutes=s.call_gap_minutes):
                continue
            out.append((ticket_id, phone, n + 1))
        return out

    async def run_once(self) -> int:
        now = self.clock()
        if not self.settings.calls or not self.outbound.configured or not self.calling_hours(now):
            return 0
        free = self.settings.concurrent_calls - len(self.calling)
        started = 0
        for ticket_id, phone, n in (await self.due(now))[:max(0, free)]:
            task = asyncio.ensure_future(self.call(ticket_id, phone, n))
            self.calling[ticket_id] = task
            task.add_done_callback(functools.partial(self._done, ticket_id))
            started += 1
        return started

    def _done(self, ticket_id: str, _task: object) -> None:
        self.calling.pop(ticket_id, None)

    async def call(self, ticket_id: str, number: str, n: int) -> str:
        """One survey call about ``ticket_id``; how it went (``survey_calls.outcome``)."""
        session = self.outbound.open(call_id=str(uuid.uuid4()), number=number, direction="survey",
                                     attributes={"ticket_id": ticket_id})
        row = SurveyCall(id=str(uuid.uuid4()), ticket_id=ticket_id, call_id=session.call_id, n=n,
                         started_at=self.clock(), outcome="dialling")
        async with self.db.session() as s:
            s.add(row)
        await self.tickets.attach_call(SURVEY_PRINCIPAL, ticket_id, session.call_id)
        rating: int | None = None
        result = await self.outbound.dial(session, timeout=RING_SECONDS)
        outcome = result.reason
        if result.answered:
            try:
                rating = await self.flow.run(session, SurveySubject(kind=OUTBOUND, ticket_id=ticket_id))
            except CallerHungUp:
                pass
            outcome = "rated" if rating is not None else "not_rated"
            await session.hangup("normal")
        async with self.db.session() as s:
            stored = await s.get(SurveyCall, row.id)
            if stored is not None:
                stored.outcome, stored.rating = outcome, rating
        log.info("survey call %s about ticket %s: %s", session.call_id, ticket_id, outcome)
        return outcome

    async def close(self) -> None:
        for task in list(self.calling.values()):
            task.cancel()
        if self.calling:
            await asyncio.gather(*self.calling.values(), return_exceptions=True)
