"""Intake compatible with Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the service
list is the active categories, a service request is a ticket of the ``open311`` channel, and a
request is read back by its ticket number, or listed with the standard's filters.

What leaves here goes to third-party systems: no caller name, phone or ID card, and numbers typed
into the description, the notes or the address are masked (A-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from callcore.core.errors import NotFound
from callcore.core.identity import Principal
from callcore.core.privacy import scrub
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets import reference
from callcore.tickets.access import visible_clause
from callcore.tickets.models import Category, Ticket
from callcore.tickets.services import NewTicket, TicketService

# A request is "closed" for GeoReport once the ticket is finished, whatever the reason.
FINISHED = frozenset({"closed", "archived", "rejected", "merged"})


@dataclass(frozen=True, kw_only=True)
class ServiceType:
    code: str
    name: str
    description: str


@dataclass(frozen=True, kw_only=True)
class Request:
    number: str
    closed: bool
    notes: str
    service_code: str
    service_name: str
    description: str
    requested_at: datetime
    updated_at: datetime
    expected_on: date
    address: str
    lat: float | None
    lon: float | None


async def service_types(service: TicketService) -> list[ServiceType]:
    """The active categories, each described with its time limit."""
    return [ServiceType(code=c.code, name=c.name,
                        description=f"{c.name}（办理时限{c.limit_days}个工作日）" if c.limit_days else f"{c.name}（当日办理）")
            for c in await reference.categories(service, active_only=True)]


async def create_request(service: TicketService, who: Principal, *, service_code: str, description: str,
                         first_name: str = "", last_name: str = "", phone: str = "", address: str = "",
                         lat: float | None = None, lon: float | None = None) -> Ticket:
    name = " ".join(p for p in (last_name, first_name) if p)
    ticket, _ = await service.create(who, NewTicket(
        category=service_code, content=description, channel="open311", caller_name=name, phone=phone,
        address=address, lat=lat, lon=lon))
    return ticket


def notice(t: Ticket) -> str:
    """What the requester is told on creation: the query code and the deadline."""
    return f"已受理，查询码{t.query_code}，办理时限{t.due_date.isoformat()}"


async def request(service: TicketService, who: Principal, number: str) -> Request:
    """The request (ticket) of that number, if ``who`` may see it; ``NotFound`` otherwise."""
    if len(number) > 20:
        raise NotFound(f"request {number} not found", text="没有这个服务请求")
    t = (await service.get(who, number)).ticket
    return _request(t, await reference.category_name(service.db, t.category))


def _request(t: Ticket, service_name: str) -> Request:
    closed = t.status in FINISHED
    return Request(number=t.number, closed=closed, notes=scrub(t.reply) if closed else "", service_code=t.category,
                   service_name=service_name, description=scrub(t.content), requested_at=t.received_at,
                   updated_at=t.updated_at, expected_on=t.due_date, address=scrub(t.address), lat=t.lat, lon=t.lon)


# GeoReport: without dates, the last 90 days; at most 1000 requests an answer.
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000


@dataclass(frozen=True, kw_only=True)
class RequestFilter:
    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None  # "open" or "closed"; None for both


async def requests(db: Database, who: Principal, f: RequestFilter) -> list[Request]:
    """The requests ``who`` may see that match ``f``, newest first. Asked by number, the dates do
    not apply (as the standard says); otherwise the default window is the last 90 days."""
    q = (select(Ticket, Category.name).join(Category, Category.code == Ticket.category)
         .where(visible_clause(who)).order_by(Ticket.received_at.desc()).limit(MAX_REQUESTS))
    if f.numbers:
        q = q.where(Ticket.number.in_(f.numbers))
    else:
        start = f.start or ((f.end or utcnow()) - timedelta(days=DEFAULT_DAYS))
        q = q.where(Ticket.received_at >= start)
        if f.end:
            q = q.where(Ticket.received_at <= f.end)
    if f.service_codes:
        q = q.where(Ticket.category.in_(f.service_codes))
    if f.status == "closed":
        q = q.where(Ticket.status.in_(FINISHED))
    elif f.status == "open":
        q = q.where(Ticket.status.not_in(FINISHED))
    async with db.session() as s:
        return [_request(t, name) for t, name in (await s.execute(q)).all()]
