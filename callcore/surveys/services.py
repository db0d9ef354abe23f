"""Storing ratings and reading them back (T-14, W-12).

A rating is one ``survey_ratings`` row (the call, the agent and queue it rates, the ticket it is
about) and a step on every ticket linked to the call, taken through the ticket service like any
other change of a ticket (W-15: an event, never an edit of the row):

- an outbound survey call about a ticket sampled for a callback (W-12) rates it with the workflow's
  ``rate`` action, which sets the ticket's ``satisfaction`` (``scale.SATISFACTION``);
- otherwise (every inbound survey) the ticket gets a ``note`` step carrying the rating. The
  workflow sets ``satisfaction`` only by a reply, an immediate answer or a sampled callback's
  ``rate``: it is the citizen's view of the ticket's result (S-1 counts it per department), while
  an inbound survey rates the call, i.e. the agent. The note keeps the rating in the ticket's
  history without counting it against a department.

A database outage loses no rating silently: the call's ``survey_rated`` event (spooled by the
journal) still holds it, and the failure is logged with the call.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, union
from sqlalchemy.exc import IntegrityError

from callcore.calls.models import Call
from callcore.core.errors import DomainError
from callcore.core.identity import SYSTEM, Principal
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database
from callcore.surveys.models import INBOUND, KINDS, OUTBOUND, RATINGS, SurveyRating
from callcore.surveys.scale import SATISFACTION, WORDS
from callcore.surveys.types import SurveySubject
from callcore.tickets.models import Ticket, TicketCall
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)

# Who takes the ticket steps of an automatic survey (the ticket's history names it).
SURVEY_PRINCIPAL = Principal(user_id="survey", name="满意度调查", role=SYSTEM)


@dataclass(frozen=True, kw_only=True)
class SurveyFilter:
    call_id: str | None = None
    # Ratings about this ticket, or of a call linked to it.
    ticket_id: str | None = None
    agent: str | None = None
    queue: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class Listed:
    row: SurveyRating
    # The call's caller number (whole: the HTTP layer masks it), "" when the call row is missing.
    caller_number: str


def note_text(rating: int, kind: str) -> str:
    """What the ticket's history says of a rating (Chinese, as the ticket's other notes)."""
    what = "来电满意度调查" if kind == INBOUND else "回访满意度调查"
    return f"{what}：{WORDS[rating]}（按键{rating}）"


class SurveyService:
    def __init__(self, db: Database, *, tickets: TicketService | None = None,
                 actor: Principal = SURVEY_PRINCIPAL) -> None:
        """``tickets`` None: ratings are stored without touching tickets (a daemon without them)."""
        self.db = db
        self.tickets = tickets
        self.actor = actor

    async def linked_tickets(self, call_id: str) -> list[str]:
        """The tickets linked to a call (created for it, or linked later), oldest first."""
        ids = union(select(TicketCall.ticket_id.label("id")).where(TicketCall.call_id == call_id),
                    select(Ticket.id.label("id")).where(Ticket.call_id == call_id)).subquery()
        q = (select(Ticket.id).where(Ticket.id.in_(select(ids.c.id)))
             .order_by(Ticket.received_at, Ticket.number))
        async with self.db.session() as s:
            return list(await s.scalars(q))

    async def record(self, call_id: str, subject: SurveySubject, rating: int, *,
                     at: datetime | None = None) -> SurveyRating | None:
        """Stores a rating and takes its step on the linked tickets; the row, or None when it could
        not be stored (outage: logged) or the call was rated already (the first rating stands)."""
        if rating not in RATINGS:
            raise ValueError(f"a rating is one of {RATINGS}, not {rating!r}")
        if subject.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        try:
            linked = await self.linked_tickets(call_id)
            row = SurveyRating(id=str(uuid.uuid4()), call_id=call_id,
                               ticket_id=subject.ticket_id or (linked[0] if linked else None),
                               agent=subject.agent, queue=subject.queue, rating=rating, kind=subject.kind,
                               at=at or utcnow())
            async with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            log.warning("call %s was rated already; rating %s not stored again", call_id, rating)
            return None
        except OUTAGE_ERRORS as exc:
            log.error("rating %s of call %s not stored (database unavailable: %s); it is on the call's timeline",
                      rating, call_id, exc)
            return None
        targets = list(dict.fromkeys([*([subject.ticket_id] if subject.ticket_id else []), *linked]))
        for ticket_id in targets:
            await self._on_ticket(ticket_id, row, rates=subject.kind == OUTBOUND and ticket_id == subject.ticket_id)
        return row

    async def _on_ticket(self, ticket_id: str, row: SurveyRating, *, rates: bool) -> None:
        """The rating's step on one ticket: ``rate`` for the ticket a survey call was about, else a note."""
        if self.tickets is None:
            return
        data = {"survey_id": row.id, "call_id": row.call_id, "rating": row.rating,
                "satisfaction": SATISFACTION[row.rating], "kind": row.kind}
        note = note_text(row.rating, row.kind)
        try:
            if rates:
                try:
                    await self.tickets.act(self.actor, ticket_id, "rate",
                                           {**data, "rating": SATISFACTION[row.rating], "key": row.rating}, note=note)
                    return
                except DomainError as exc:  # not sampled, or not this actor's to rate: noted instead
                    log.warning("ticket %s not rated by survey %s (%s); noted instead", ticket_id, row.id, exc.message)
            await self.tickets.act(self.actor, ticket_id, "note", data, note=note)
        except DomainError as exc:  # archived (read-only), gone meanwhile
            log.warning("survey %s not noted on ticket %s: %s", row.id, ticket_id, exc.message)
        except OUTAGE_ERRORS as exc:
            log.error("survey %s not noted on ticket %s (database unavailable: %s)", row.id, ticket_id, exc)

    # -- reads ----------------------------------------------------------------------------------

    def _where(self, f: SurveyFilter) -> list[ColumnElement[bool]]:
        r = SurveyRating
        out: list[ColumnElement[bool]] = []
        if f.call_id:
            out.append(r.call_id == f.call_id)
        if f.ticket_id:
            calls = union(select(TicketCall.call_id.label("id")).where(TicketCall.ticket_id == f.ticket_id),
                          select(Ticket.call_id.label("id")).where(Ticket.id == f.ticket_id,
                                                                   Ticket.call_id.is_not(None))).subquery()
            out.append(or_(r.ticket_id == f.ticket_id, r.call_id.in_(select(calls.c.id))))
        if f.agent:
            out.append(r.agent == f.agent)
        if f.queue:
            out.append(r.queue == f.queue)
        if f.kind:
            out.append(r.kind == f.kind)
        if f.since:
            out.append(r.at >= f.since)
        if f.until:
            out.append(r.at < f.until)
        return out

    async def page(self, f: SurveyFilter) -> tuple[list[Listed], int]:
        """Ratings matching ``f``, newest first, with their callers' numbers; and how many match."""
        conditions = self._where(f)
        where = and_(*conditions) if conditions else None
        q = (select(SurveyRating, Call.caller_number).outerjoin(Call, Call.id == SurveyRating.call_id)
             .order_by(SurveyRating.at.desc(), SurveyRating.id).limit(f.limit).offset(f.offset))
        count = select(func.count()).select_from(SurveyRating)
        if where is not None:
            q, count = q.where(where), count.where(where)
        async with self.db.session() as s:
            rows = [Listed(row=r, caller_number=n or "") for r, n in (await s.execute(q)).all()]
            total = int(await s.scalar(count) or 0)
        return rows, total
