"""Intake compatible with Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the service
list is the active categories, a service request is a ticket of the ``open311`` channel, and a
request is read back by its ticket number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from callcore.core.errors import NotFound
from callcore.core.identity import Principal
from callcore.tickets import reference
from callcore.tickets.models import Ticket
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
        raise NotFound(f"request {number} not found")
    t = (await service.get(who, number)).ticket
    closed = t.status in FINISHED
    return Request(number=t.number, closed=closed, notes=t.reply if closed else "", service_code=t.category,
                   service_name=await reference.category_name(service.db, t.category), description=t.content,
                   requested_at=t.received_at, updated_at=t.updated_at, expected_on=t.due_date, address=t.address,
                   lat=t.lat, lon=t.lon)
