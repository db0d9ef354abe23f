"""Read side of tickets: filtered, sorted pages, exports and the agent's screen-pop lookup.

Every query is restricted by ``access.visible_clause`` so a handler's lists and exports hold
only their department's tickets (A-1). Full-text search and the phone's tail go through the search
index (``callcore.tickets.search``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, and_, exists, func, literal, or_, select, text

from callcore.calls.models import Call
from callcore.core.identity import HANDLER, READ_ALL, Principal
from callcore.store.db import Database
from callcore.tickets import search
from callcore.tickets.access import visible_clause
from callcore.tickets.deadlines import FINISHED, NOT_RUNNING, Deadlines
from callcore.tickets.models import Ticket, TicketDepartment, TicketEvent
from callcore.tickets.workflow import OPEN

SORTS: dict[str, UnaryExpression[Any]] = {
    "received_at": Ticket.received_at.asc(), "-received_at": Ticket.received_at.desc(),
    "due_date": Ticket.due_date.asc(), "-due_date": Ticket.due_date.desc(),
    "number": Ticket.number.asc(), "-number": Ticket.number.desc(),
    "updated_at": Ticket.updated_at.asc(), "-updated_at": Ticket.updated_at.desc(),
}
# Best match first (needs a search text); ties by receipt, newest first.
RELEVANCE = "relevance"
SORT_NAMES = (*SORTS, RELEVANCE)
# Counting every match of a broad filter over a million rows costs more than the page itself;
# past this many the total is reported as "at least".
COUNT_CAP = 10_000
# Relevance ranks the newest this many matches of a search (the total still counts them all): ranking
# every ticket a common word is found in (tens of thousands in a million) would cost a read of each of
# them for every page; a dispatcher looks at the first pages, and recent tickets are the ones asked about.
RANK_WINDOW = 500
# A search that matches at most this many tickets is read, ordered and counted exactly.
EXACT_UP_TO = 5_000
# A department's search by relevance for common words ranks matches among its newest this many tickets.
INBOX_WALK = 5_000


@dataclass(frozen=True, kw_only=True)
class TicketFilter:
    number: str | None = None
    query_code: str | None = None
    phone: str | None = None
    # The last four digits of the phone (the whole number is never needed to find a ticket).
    phone_tail: str | None = None
    # Words of the content, address, title or caller's name (segmented, ranked).
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    department_id: str | None = None
    status: tuple[str, ...] = ()
    category: str | None = None
    channel: tuple[str, ...] = ()
    urgency: str | None = None
    reason: tuple[str, ...] = ()
    satisfaction: tuple[str, ...] = ()
    colour: str | None = None
    handler: str | None = None
    # An extension asked for and not yet decided (W-9).
    pending_extension: bool | None = None
    # Sampled for a satisfaction callback and not yet rated (W-12).
    awaiting_callback: bool | None = None
    supervised: bool | None = None
    # Open and past its deadline.
    overdue: bool | None = None
    # Created by the reader or theirs to answer for (首问负责), or with their department (lead or assisting).
    mine: bool = False
    sort: str = "-received_at"
    limit: int = 50
    offset: int = 0

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond department, status, category and period narrows the list."""
        return bool(self.text) or self._flags()

    def _flags(self) -> bool:
        return any((self.number, self.query_code, self.phone, self.phone_tail, self.channel, self.urgency,
                    self.reason, self.satisfaction, self.colour, self.handler, self.mine,
                    self.pending_extension is not None, self.awaiting_callback is not None,
                    self.supervised is not None, self.overdue is not None))

    @property
    def words_only(self) -> bool:
        """A search and nothing else, newest or best first: the search index answers it alone."""
        return (bool(self.text) and not self._flags() and not self.department_id and not self.status
                and not self.category and self.since is None and self.until is None
                and self.sort in (RELEVANCE, "-received_at"))


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


def _flag(condition: ColumnElement[bool], wanted: bool) -> ColumnElement[bool]:
    return condition if wanted else ~condition


def _where(who: Principal, f: TicketFilter, dl: Deadlines, today: date, dialect: str) -> list[ColumnElement[bool]]:
    """The conditions of a filter; ``dialect`` picks the full-text index (FTS5 or tsvector)."""
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
    if f.phone_tail:
        conds.append(Ticket.id.in_(search.by_phone_tail(f.phone_tail)))
    if f.text and f.sort != RELEVANCE:  # with relevance, ``filtered`` joins the ranked matches instead
        conds.append(Ticket.id.in_(search.hits(dialect, f.text).with_only_columns(search.TicketSearch.ticket_id)))
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
    if f.channel:
        conds.append(Ticket.channel.in_(f.channel))
    if f.urgency:
        conds.append(Ticket.urgency == f.urgency)
    if f.reason:
        conds.append(Ticket.reject_reason.in_(f.reason))
    if f.satisfaction:
        conds.append(Ticket.satisfaction.in_(f.satisfaction))
    if f.colour:
        conds.append(dl.colour_clause(f.colour, today))
    if f.handler:
        conds.append(exists(select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id,
                                                         TicketEvent.actor_id == f.handler)))
    if f.pending_extension is not None:
        conds.append(_flag(Ticket.extension_until.is_not(None), f.pending_extension))
    if f.awaiting_callback is not None:
        conds.append(_flag(Ticket.visit == "sampled", f.awaiting_callback))
    if f.supervised is not None:
        conds.append(Ticket.supervised.is_(f.supervised))
    if f.overdue is not None:
        running = Ticket.status.not_in(FINISHED + NOT_RUNNING)
        conds.append(_flag(and_(running, dl.colour_clause("red", today)), f.overdue))
    if f.mine:
        conds.append(_mine(who))
    return conds


def _mine(who: Principal) -> ColumnElement[bool]:
    """The reader's own tickets: those they created or answer for (首问负责), and those with their department."""
    own = or_(Ticket.created_by == who.user_id, Ticket.first_responsible_id == who.user_id)
    if not who.department_id:
        return own
    td = TicketDepartment
    return or_(own, exists(select(td.ticket_id).where(td.ticket_id == Ticket.id, td.department_id == who.department_id)))


def filtered(who: Principal, f: TicketFilter, dl: Deadlines, today: date, dialect: str = "") -> Select[Any]:
    """The filter's tickets in its order; a full-text filter needs the database's ``dialect``."""
    if f.text and not dialect:
        raise ValueError("full-text search needs the database dialect")
    q = select(Ticket).where(*_where(who, f, dl, today, dialect))
    if f.sort == RELEVANCE and f.text:
        ranked = search.hits(dialect, f.text).subquery()
        return q.join(ranked, ranked.c.ticket_id == Ticket.id).order_by(
            ranked.c.rank.desc(), Ticket.received_at.desc(), Ticket.id)
    return q.order_by(SORTS.get(f.sort, SORTS["-received_at"]), Ticket.id)


def _inbox(who: Principal, f: TicketFilter) -> Select[Any] | None:
    """A department's list by receipt time with no other ticket filter (the handler's daily view)
    is answered from its inbox index alone; None when the filter needs the tickets table."""
    dep = who.department_id if who.role == HANDLER else f.department_id
    if not dep or (who.role == HANDLER and f.department_id not in (None, dep)):
        return None
    if who.role not in READ_ALL and who.role != HANDLER:
        return None
    if f.narrowed or "received_at" not in f.sort:
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


async def _search_page(db: Database, f: TicketFilter) -> tuple[list[Ticket], int, bool]:
    """A search with no other filter for a reader who sees every ticket, answered from the search index.

    Up to ``EXACT_UP_TO + 1`` matches are counted in one pass of the word index (in table order, without
    sorting: no plan can walk the receipt index backwards through a table for a word found in none). If
    that is all of them, they are read again (cached now), ordered and counted exactly. Otherwise the word is common (0.5 % of a
    million tickets and more), walking the receipt index backwards meets a page of matches quickly,
    relevance ranks the newest ``RANK_WINDOW`` of them, and the total is "more than ``EXACT_UP_TO``"."""
    assert f.text
    ts = search.TicketSearch
    matches = search.hits(db.dialect, f.text)
    async with db.session() as s:
        counted = matches.with_only_columns(literal(1)).limit(EXACT_UP_TO + 1).subquery()
        total = int(await s.scalar(select(func.count()).select_from(counted)) or 0)
        if total <= EXACT_UP_TO:
            # Materialised: the matches are read through the word index once, then sorted.
            every = matches.cte("matches").prefix_with("MATERIALIZED", dialect="postgresql")
            newest = (every.c.received_at.desc(), every.c.ticket_id.desc())
            order = (every.c.rank.desc(), *newest) if f.sort == RELEVANCE else newest
            ids = list(await s.scalars(select(every.c.ticket_id).order_by(*order).limit(f.limit).offset(f.offset)))
            more = False
        else:
            if db.dialect == "postgresql":
                # More than EXACT_UP_TO matches were just read; the planner, multiplying the frequencies of
                # words that come together (北 and 滨河路), may expect far fewer and read them all instead.
                await s.execute(text("SET LOCAL enable_bitmapscan = off"))
                await s.execute(text("SET LOCAL enable_seqscan = off"))
            if f.sort == RELEVANCE:
                window = matches.order_by(ts.received_at.desc(), ts.ticket_id.desc()).limit(RANK_WINDOW).subquery()
                ids_q = select(window.c.ticket_id).order_by(window.c.rank.desc(), window.c.received_at.desc(),
                                                            window.c.ticket_id.desc())
            else:
                ids_q = matches.with_only_columns(ts.ticket_id).order_by(ts.received_at.desc(), ts.ticket_id.desc())
            ids = list(await s.scalars(ids_q.limit(f.limit).offset(f.offset)))
            total, more = EXACT_UP_TO, True
        found = {t.id: t for t in await s.scalars(select(Ticket).where(Ticket.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found], min(total, COUNT_CAP), more or total > COUNT_CAP


async def _few_matches_page(db: Database, who: Principal, f: TicketFilter, dl: Deadlines,
                            today: date) -> tuple[list[Ticket], int, bool] | None:
    """A search with other filters whose words are in at most ``EXACT_UP_TO`` tickets: those are read once
    (materialised) and the other filters applied to them; None for commoner words (the general plan)."""
    assert f.text
    matches = search.hits(db.dialect, f.text)
    async with db.session() as s:
        counted = matches.with_only_columns(literal(1)).limit(EXACT_UP_TO + 1).subquery()
        if int(await s.scalar(select(func.count()).select_from(counted)) or 0) > EXACT_UP_TO:
            return None
        every = matches.cte("matches").prefix_with("MATERIALIZED", dialect="postgresql")
        conds = _where(who, replace(f, text=None), dl, today, db.dialect)
        order = ((every.c.rank.desc(), Ticket.received_at.desc(), Ticket.id) if f.sort == RELEVANCE
                 else (SORTS.get(f.sort, SORTS["-received_at"]), Ticket.id))
        q = select(Ticket).join(every, every.c.ticket_id == Ticket.id).where(*conds)
        rows = list(await s.scalars(q.order_by(*order).limit(f.limit).offset(f.offset)))
        if f.offset == 0 and len(rows) < f.limit:
            return rows, len(rows), False
        total = int(await s.scalar(select(func.count()).select_from(q.with_only_columns(Ticket.id).subquery())) or 0)
    return rows, min(total, COUNT_CAP), total > COUNT_CAP


async def _inbox_search_page(db: Database, dep: str, f: TicketFilter) -> tuple[list[Ticket], int, bool]:
    """Common words (more than ``EXACT_UP_TO`` tickets) in one department's tickets, newest first or by
    rank within the newest ``RANK_WINDOW`` (of its newest ``INBOX_WALK`` tickets): the department's inbox is walked by receipt time and each
    ticket's words checked, which meets a page of matches quickly for words this common (PostgreSQL).
    The total is the matches seen so far, flagged "at least" while the pages are full."""
    assert f.text
    td, ts = TicketDepartment, search.TicketSearch
    match, rank = search.pg_match(f.text)
    scope = [td.department_id == dep]
    if f.status:
        scope.append(td.status.in_(f.status))
    if f.category:
        scope.append(td.category == f.category)
    newest = (select(td.ticket_id, td.received_at, rank.label("rank")).join(ts, ts.ticket_id == td.ticket_id)
              .where(*scope, match).order_by(td.received_at.desc(), td.ticket_id.desc()))
    async with db.session() as s:
        await s.execute(text("SET LOCAL enable_bitmapscan = off"))  # walk the inbox, not every match
        if f.sort == RELEVANCE:
            # Bounded: the ranked matches are among the department's newest INBOX_WALK tickets.
            recent = (select(td.ticket_id, td.received_at).where(*scope)
                      .order_by(td.received_at.desc(), td.ticket_id.desc()).limit(INBOX_WALK).subquery())
            window = (select(recent.c.ticket_id, recent.c.received_at, rank.label("rank"))
                      .join(ts, ts.ticket_id == recent.c.ticket_id).where(match)
                      .order_by(recent.c.received_at.desc(), recent.c.ticket_id.desc()).limit(RANK_WINDOW).subquery())
            ids_q = select(window.c.ticket_id).order_by(window.c.rank.desc(), window.c.received_at.desc(),
                                                        window.c.ticket_id.desc())
        else:
            ids_q = newest.with_only_columns(td.ticket_id)
        ids = list(await s.scalars(ids_q.limit(f.limit).offset(f.offset)))
        found = {t.id: t for t in await s.scalars(select(Ticket).where(Ticket.id.in_(ids)))} if ids else {}
    # Counting would walk the whole inbox: the total is what was seen, "at least" while pages are full.
    return [found[i] for i in ids if i in found], f.offset + len(ids), len(ids) == f.limit


async def page(db: Database, who: Principal, f: TicketFilter, dl: Deadlines, today: date) -> tuple[list[Ticket], int, bool]:
    """One page, the total (capped at ``COUNT_CAP``) and whether the cap was hit."""
    if f.words_only and who.role in READ_ALL:
        return await _search_page(db, f)
    if f.text:
        few = await _few_matches_page(db, who, f, dl, today)
        if few is not None:
            return few
        dep = who.department_id if who.role == HANDLER else f.department_id
        if (db.dialect == "postgresql" and dep and not f._flags() and f.since is None and f.until is None
                and f.sort in (RELEVANCE, "-received_at")
                and (who.role in READ_ALL or (who.role == HANDLER and f.department_id in (None, dep)))):
            return await _inbox_search_page(db, dep, f)
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
    q = filtered(who, f, dl, today, db.dialect)
    async with db.session() as s:
        rows = list(await s.scalars(q.limit(f.limit).offset(f.offset)))
        if f.offset == 0 and len(rows) < f.limit:
            return rows, len(rows), False
        counted = TicketFilter(**{**f.__dict__, "sort": "-received_at"}) if f.sort == RELEVANCE else f
        capped = select(Ticket.id).where(*_where(who, counted, dl, today, db.dialect)).limit(COUNT_CAP + 1).subquery()
        total = int(await s.scalar(select(func.count()).select_from(capped)) or 0)
    return rows, min(total, COUNT_CAP), total > COUNT_CAP


async def stream(db: Database, who: Principal, f: TicketFilter, dl: Deadlines, today: date,
                 max_rows: int) -> AsyncIterator[Ticket]:
    """Rows of an export, read in chunks so a large export does not sit in memory at once."""
    q = filtered(who, f, dl, today, db.dialect).limit(max_rows)
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
