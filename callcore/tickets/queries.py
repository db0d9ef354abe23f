"""Read side of tickets: filtered, sorted pages, exports and the agent's screen-pop lookup.

Every query is restricted by ``access.visible_clause`` so a handler's lists and exports hold
only their department's tickets (A-1).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, exists, func, select

from callcore.calls.models import Call
from callcore.core.identity import HANDLER, READ_ALL, Principal
from callcore.store.db import Database
from callcore.tickets.access import visible_clause
from callcore.tickets.deadlines import Deadlines
from callcore.tickets.models import Ticket, TicketDepartment, TicketEvent
from callcore.tickets.workflow import OPEN

SORTS: dict[str, UnaryExpression[Any]] = {
    "received_at": Ticket.received_at.asc(), "-received_at": Ticket.received_at.desc(),
    "due_date": Ticket.due_date.asc(), "-due_date": Ticket.due_date.desc(),
    "number": Ticket.number.asc(), "-number": Ticket.number.desc(),
    "updated_at": Ticket.updated_at.asc(), "-updated_at": Ticket.updated_at.desc(),
}
# Counting every match of a broad filter over a million rows costs more than the page itself;
# past this many the total is reported as "at least".
COUNT_CAP = 10_000


@dataclass(frozen=True, kw_only=True)
class TicketFilter:
    number: str | None = None
    query_code: str | None = None
    phone: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    department_id: str | None = None
    status: tuple[str, ...] = ()
    category: str | None = None
    colour: str | None = None
    handler: str | None = None
    sort: str = "-received_at"
    limit: int = 50
    offset: int = 0


def _in_department(department_id: str, f: TicketFilter) -> ColumnElement[bool]:
    """Tickets of a department's inbox, with the status and time filters pushed into the subquery
    so PostgreSQL reads one range of ``ix_ticket_departments_dept_*`` instead of the department's
    whole history."""
    td = TicketDepartment
    sub = select(td.ticket_id).where(td.department_id == department_id)
    if f.status:
        sub = sub.where(td.status.in_(f.status))
    if f.category:
        sub = sub.where(td.category == f.category)
    if f.since is not None:
        sub = sub.where(td.received_at >= f.since)
    if f.until is not None:
        sub = sub.where(td.received_at < f.until)
    return Ticket.id.in_(sub)


def _where(who: Principal, f: TicketFilter, dl: Deadlines, today: date) -> list[ColumnElement[bool]]:
    # With a department scope, status, category and period are answered by the inbox subquery; repeating them
    # on the tickets table would tempt PostgreSQL into scanning every ticket of the period.
    scoped = who.role == HANDLER or bool(f.department_id)
    if who.role == HANDLER:
        # the same restriction as access.visible_clause, in the form that uses the inbox index.
        conds: list[ColumnElement[bool]] = [
            _in_department(who.department_id, f) if who.department_id else Ticket.id.is_(None)]
    else:
        conds = [visible_clause(who)]
    if f.number:
        conds.append(Ticket.number == f.number)
    if f.query_code:
        conds.append(Ticket.query_code == f.query_code)
    if f.phone:
        conds.append(Ticket.phone == f.phone)
    if f.since is not None and not scoped:
        conds.append(Ticket.received_at >= f.since)
    if f.until is not None and not scoped:
        conds.append(Ticket.received_at < f.until)
    if f.department_id:
        conds.append(_in_department(f.department_id, f))
    if f.status and not scoped:
        conds.append(Ticket.status.in_(f.status))
    if f.category and not scoped:
        conds.append(Ticket.category == f.category)
    if f.colour:
        conds.append(dl.colour_clause(f.colour, today))
    if f.handler:
        conds.append(exists(select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id,
                                                         TicketEvent.actor_id == f.handler)))
    return conds


def filtered(who: Principal, f: TicketFilter, dl: Deadlines, today: date) -> Select[Any]:
    return select(Ticket).where(*_where(who, f, dl, today)).order_by(SORTS[f.sort], Ticket.id)


def _inbox(who: Principal, f: TicketFilter) -> Select[Any] | None:
    """A department's list by receipt time with no other ticket filter (the handler's daily view)
    is answered from its inbox index alone; None when the filter needs the tickets table."""
    dep = who.department_id if who.role == HANDLER else f.department_id
    if not dep or (who.role == HANDLER and f.department_id not in (None, dep)):
        return None
    if who.role not in READ_ALL and who.role != HANDLER:
        return None
    if any((f.number, f.query_code, f.phone, f.colour, f.handler)) or "received_at" not in f.sort:
        return None
    td = TicketDepartment
    q = select(td.ticket_id).where(td.department_id == dep)
    if f.status:
        q = q.where(td.status.in_(f.status))
    if f.category:
        q = q.where(td.category == f.category)
    if f.since is not None:
        q = q.where(td.received_at >= f.since)
    if f.until is not None:
        q = q.where(td.received_at < f.until)
    return q


async def page(db: Database, who: Principal, f: TicketFilter, dl: Deadlines, today: date) -> tuple[list[Ticket], int, bool]:
    """One page, the total (capped at ``COUNT_CAP``) and whether the cap was hit."""
    inbox = _inbox(who, f)
    if inbox is not None:
        td = TicketDepartment
        # The same order as ``filtered``: receipt time, then id ascending.
        first = td.received_at.desc() if f.sort.startswith("-") else td.received_at.asc()
        ids = inbox.order_by(first, td.ticket_id).limit(f.limit).offset(f.offset).subquery()
        async with db.session() as s:
            rows = list(await s.scalars(select(Ticket).where(Ticket.id.in_(select(ids.c.ticket_id)))
                                        .order_by(SORTS[f.sort], Ticket.id)))
            total = int(await s.scalar(select(func.count()).select_from(inbox.limit(COUNT_CAP + 1).subquery())) or 0)
        return rows, min(total, COUNT_CAP), total > COUNT_CAP
    q = filtered(who, f, dl, today)
    async with db.session() as s:
        rows = list(await s.scalars(q.limit(f.limit).offset(f.offset)))
        if f.offset == 0 and len(rows) < f.limit:
            return rows, len(rows), False
        capped = select(Ticket.id).where(*_where(who, f, dl, today)).limit(COUNT_CAP + 1).subquery()
        total = int(await s.scalar(select(func.count()).select_from(capped)) or 0)
    return rows, min(total, COUNT_CAP), total > COUNT_CAP


async def stream(db: Database, who: Principal, f: TicketFilter, dl: Deadlines, today: date,
                 max_rows: int) -> AsyncIterator[Ticket]:
    """Rows of an export, read in chunks so a large export does not sit in memory at once."""
    q = filtered(who, f, dl, today).limit(max_rows)
    async with db.session() as s:
        result = await s.stream_scalars(q.execution_options(yield_per=1000))
        async for t in result:
            yield t


@dataclass(frozen=True, kw_only=True)
class CallerHistory:
    tickets: list[Ticket]
    calls: list[Call]


async def caller_history(db: Database, who: Principal, phone: str, *, limit: int = 10) -> CallerHistory:
    """The screen pop (T-8): the caller's last tickets and calls, two index range scans."""
    async with db.session() as s:
        tickets = await s.scalars(select(Ticket).where(Ticket.phone == phone, visible_clause(who))
                                  .order_by(Ticket.received_at.desc()).limit(limit))
        calls = await s.scalars(select(Call).where(Call.caller_number == phone)
                                .order_by(Call.arrived_at.desc()).limit(limit))
        return CallerHistory(tickets=list(tickets), calls=list(calls))


async def open_ticket_count(db: Database, phone: str) -> int:
    """How many of a caller's tickets are still open (the screen pop's flag, T-8), whatever their age:
    the last few tickets shown may all be closed while an older one still runs. One range of
    ``ix_tickets_phone_received``."""
    async with db.session() as s:
        n = await s.scalar(select(func.count()).select_from(Ticket)
                           .where(Ticket.phone == phone, Ticket.status.in_(sorted(OPEN))))
    return int(n or 0)
