"""Automatic urges (W-10): an overdue ticket without an explanation gets one urge notice per
working day it is overdue (at most one a day, no catch-up burst); the N-th escalates to the
supervision group.

Several daemons may run the scheduler at once. The guard is the primary key of ``ticket_urges``
(ticket, urge number): each urge transaction starts by inserting that row with "on conflict do
nothing", so only one daemon's insert succeeds; the loser sees no row inserted and does nothing.
Starting with the write also makes SQLite take its write lock before reading, so a stale read
cannot follow.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from callcore.core.identity import SYSTEM_PRINCIPAL
from callcore.store.base import utcnow
from callcore.tickets import notices
from callcore.tickets.calendar import local_date
from callcore.tickets.models import Ticket, TicketUrge
from callcore.tickets.services import TicketService, project, state_of
from callcore.tickets.workflow import IN_HAND, Step, apply

log = logging.getLogger(__name__)


def _aware(at: datetime) -> datetime:
    """max() over a UTCDateTime column comes back naive on SQLite."""
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


class _Skip(Exception):
    """Rolls back an urge whose ticket changed since it was picked."""


class UrgeScheduler:
    def __init__(self, service: TicketService, *, batch: int = 500) -> None:
        self.service = service
        self.batch = batch

    async def due_urges(self, now: datetime, after_id: str = "") -> tuple[list[tuple[str, int]], str]:
        """(ticket id, next urge number) for overdue, unexplained tickets behind on urges, one page
        (keyset on the id), and the last id seen ("" at the end)."""
        dl = await self.service.deadlines()
        today = local_date(now)
        async with self.service.db.session() as s:
            last = select(func.max(TicketUrge.at)).where(TicketUrge.ticket_id == Ticket.id).scalar_subquery()
            rows = list(await s.execute(
                select(Ticket.id, Ticket.due_date, Ticket.urge_count, Ticket.explained_for, last)
                .where(Ticket.status.in_(IN_HAND), Ticket.due_date < today, Ticket.id > after_id)
                .order_by(Ticket.id).limit(self.batch)))
            out = []
            for tid, due, urges, explained, last_at in rows:
                if explained == due or (last_at is not None and local_date(_aware(last_at)) >= today):
                    continue
                owed = dl.calendar.workdays_between(due, today)
                if urges < owed:
                    out.append((tid, urges + 1))
            return out, (rows[-1][0] if len(rows) == self.batch else "")

    async def urge(self, ticket_id: str, number: int, now: datetime) -> bool:
        """One urge, exactly once across daemons; True when this call made it."""
        svc = self.service
        ins = pg_insert if svc.db.dialect == "postgresql" else sqlite_insert
        try:
            async with svc.db.session() as s:
                stmt = ins(TicketUrge).values(ticket_id=ticket_id, number=number, at=now, automatic=True)
                res = await s.execute(stmt.on_conflict_do_nothing(index_elements=["ticket_id", "number"]))
                if res.rowcount != 1:  # type: ignore[attr-defined]
                    return False
                t = await s.get(Ticket, ticket_id)
                if t is None or t.status not in IN_HAND or t.urge_count != number - 1 or t.explained_for == t.due_date:
                    raise _Skip
                before = state_of(t, ())
                today = local_date(now)
                escalate = number == svc.settings.escalate_after_urges
                step = Step(action="urge", role=SYSTEM_PRINCIPAL.role, today=today,
                            data={"today": today.isoformat(), "number": number, "escalate": escalate,
                                  "automatic": True, "due": t.due_date.isoformat()})
                after = apply(before, step)
                project(t, after, now)
                svc.event(s, t, step, SYSTEM_PRINCIPAL, before, after, now,
                           note=f"自动催办（第{number}次）" + ("，已升级督办" if escalate else ""))
                await s.execute(update(TicketUrge)
                                .where(TicketUrge.ticket_id == ticket_id, TicketUrge.number == number)
                                .values(department_id=t.department_id))
                await notices.for_step(s, t, before, after, step, now, svc.settings)
        except _Skip:
            return False
        log.info("ticket %s urged (%d)%s", ticket_id, number, " and escalated" if escalate else "")
        return True

    async def run_once(self, now: datetime | None = None) -> int:
        """At most one urge per ticket and run (a daemon down for a week does not send five at once);
        returns how many this scheduler made."""
        now = now or utcnow()
        made, cursor = 0, ""
        while True:
            todo, cursor = await self.due_urges(now, cursor)
            for tid, number in todo:
                made += await self.urge(tid, number, now)
            if not cursor:
                return made
