"""S-1 per department and period, computed by the database with aggregates over the events.

A step counts for the department the event concerns (``ticket_events.department_id``) and for
the period its time falls in: received = the tickets dispatched or redone to it (a ticket
re-dispatched three times is received once), signed, returned, extended (approved extensions),
urged (only overdue tickets can be urged), redone. Closed, closed on time and satisfaction count the tickets
closed in the period, by their lead department. Open overdue is a snapshot at ``today``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, select

from callcore.accounts.models import Department
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.calendar import LOCAL_TZ, local_date
from callcore.tickets.models import Ticket, TicketEvent
from callcore.tickets.workflow import IN_HAND

SATISFIED = ("satisfied", "basically_satisfied")
RATED = ("satisfied", "basically_satisfied", "unsatisfied")


@dataclass(frozen=True, kw_only=True)
class DepartmentStats:
    department_id: str
    department: str
    received: int
    signed: int
    returned: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None
    extended: int
    urged: int
    redone: int
    rated: int
    satisfied: int
    satisfaction_rate: float | None
    open_overdue: int


def _count(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


async def department_stats(db: Database, since: datetime, until: datetime, today: date,
                           department_id: str | None = None) -> list[DepartmentStats]:
    e = TicketEvent
    ev = (select(
        e.department_id.label("dep"),
        func.count(distinct(case((e.action.in_(("dispatch", "redo")), e.ticket_id)))).label("received"),
        _count(e.action == "sign").label("signed"),
        _count(e.action == "return").label("returned"),
        _count(e.action == "approve_extension").label("extended"),
        _count(e.action == "urge").label("urged"),
        _count(e.action == "redo").label("redone"),
    ).where(e.at >= since, e.at < until, e.department_id.is_not(None),
            e.action.in_(("dispatch", "redo", "sign", "return", "approve_extension", "urge")))
        .group_by(e.department_id))
    t = Ticket
    closed = (select(
        t.department_id.label("dep"),
        func.count().label("closed"),
        _count(t.closed_on_time.is_(True)).label("on_time"),
        _count(t.satisfaction.in_(RATED)).label("rated"),
        _count(t.satisfaction.in_(SATISFIED)).label("satisfied"),
    ).where(t.closed_at >= since, t.closed_at < until, t.department_id.is_not(None)).group_by(t.department_id))
    overdue = (select(t.department_id.label("dep"), func.count().label("n"))
               .where(t.status.in_(IN_HAND), t.due_date < today, t.department_id.is_not(None))
               .group_by(t.department_id))
    if department_id:
        ev = ev.where(e.department_id == department_id)
        closed = closed.where(t.department_id == department_id)
        overdue = overdue.where(t.department_id == department_id)
    evs, cls, ovs = ev.subquery(), closed.subquery(), overdue.subquery()
    d = Department
    q = (select(d.id, d.name, evs.c.received, evs.c.signed, evs.c.returned, evs.c.extended, evs.c.urged,
                evs.c.redone, cls.c.closed, cls.c.on_time, cls.c.rated, cls.c.satisfied, ovs.c.n)
         .outerjoin(evs, evs.c.dep == d.id).outerjoin(cls, cls.c.dep == d.id).outerjoin(ovs, ovs.c.dep == d.id)
         .order_by(d.code))
    if department_id:
        q = q.where(d.id == department_id)
    out = []
    async with db.session() as s:
        for r in await s.execute(q):
            closed_n, on_time_n, rated, sat = (int(x or 0) for x in (r.closed, r.on_time, r.rated, r.satisfied))
            out.append(DepartmentStats(
                department_id=r.id, department=r.name, received=int(r.received or 0), signed=int(r.signed or 0),
                returned=int(r.returned or 0), closed=closed_n, closed_on_time=on_time_n,
                on_time_rate=round(on_time_n / closed_n, 4) if closed_n else None, extended=int(r.extended or 0),
                urged=int(r.urged or 0), redone=int(r.redone or 0), rated=rated, satisfied=sat,
                satisfaction_rate=round(sat / rated, 4) if rated else None, open_overdue=int(r.n or 0)))
    return out


async def for_period(db: Database, start: date, end: date, department_id: str | None = None, *,
                     now: datetime | None = None) -> list[DepartmentStats]:
    """S-1 for the local days ``start`` to ``end`` inclusive; open overdue as of today."""
    since = datetime.combine(start, time(0), LOCAL_TZ)
    until = datetime.combine(end + timedelta(days=1), time(0), LOCAL_TZ)
    return await department_stats(db, since, until, local_date(now or utcnow()), department_id)
