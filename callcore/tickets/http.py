"""Tickets (W-1..W-17): create, list, get with history, act, export, slip, reveal, screen pop."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from callcore.api.router import ApiRequest, Router
from callcore.api.validation import Day, InputModel, Instant
from callcore.core.identity import CENTER
from callcore.core.privacy import mask_id_card, mask_phone
from callcore.tickets import export, queries
from callcore.tickets.deadlines import colour_of
from callcore.tickets.errors import BadTicketInput, TicketNotFound
from callcore.tickets.models import Ticket
from callcore.tickets.services import NewTicket, TicketService, TicketView
from callcore.tickets.slip import render_html, render_pdf, transfer_slip
from callcore.tickets.workflow import ACTIONS, MODES, REJECT_REASONS, STATUS_TEXT, STATUSES

router = Router("/api/v1")
PHONE = r"^\+?[0-9]{3,20}$"


class TicketIn(InputModel):
    channel: Literal["phone", "web", "sms", "mail"] = "phone"
    call_id: str | None = Field(default=None, min_length=1, max_length=36)
    caller_name: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=21, pattern=r"^(\+?[0-9]{3,20})?$")
    id_card: str = Field(default="", pattern=r"^([0-9]{17}[0-9Xx])?$")
    address: str = Field(default="", max_length=256)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    category: str = Field(min_length=1, max_length=32)
    title: str = Field(default="", max_length=128)
    content: str = Field(min_length=1, max_length=4000)
    urgency: Literal["normal", "urgent"] = "normal"
    received_at: Instant | None = None


class DuplicateOut(BaseModel):
    ticket_id: str
    number: str
    reason: str
    score: float
    status: str
    received_at: datetime


class TicketOut(BaseModel):
    id: str
    number: str
    query_code: str
    channel: str
    call_id: str | None
    caller_name: str
    phone: str = Field(description="masked (A-2); POST .../reveal for the whole value")
    id_card: str = Field(description="masked (A-2)")
    address: str
    category: str
    title: str
    content: str
    urgency: str
    received_at: datetime
    status: str
    status_text: str
    mode: str | None
    department_id: str | None
    due_date: date
    sign_by: date | None
    extension_until: date | None
    colour: Literal["green", "yellow", "red"]
    urge_count: int
    redo_count: int
    supervised: bool
    satisfaction: str | None
    visit: str | None
    reply: str
    closed_at: datetime | None
    closed_on_time: bool | None
    updated_at: datetime

    @classmethod
    def of(cls, t: Ticket, today: date, yellow_until: date) -> TicketOut:
        return cls(
            id=t.id, number=t.number, query_code=t.query_code, channel=t.channel, call_id=t.call_id,
            caller_name=t.caller_name, phone=mask_phone(t.phone), id_card=mask_id_card(t.id_card), address=t.address,
            category=t.category, title=t.title, content=t.content, urgency=t.urgency, received_at=t.received_at,
            status=t.status, status_text=STATUS_TEXT.get(t.status, t.status), mode=t.mode,
            department_id=t.department_id, due_date=t.due_date, sign_by=t.sign_by, extension_until=t.extension_until,
            colour=colour_of(t.status, t.due_date, t.closed_on_time, today, yellow_until),  # type: ignore[arg-type]
            urge_count=t.urge_count, redo_count=t.redo_count, supervised=t.supervised, satisfaction=t.satisfaction,
            visit=t.visit, reply=t.reply, closed_at=t.closed_at, closed_on_time=t.closed_on_time,
            updated_at=t.updated_at)


class CreatedOut(TicketOut):
    duplicates: list[DuplicateOut]


class EventOut(BaseModel):
    seq: int
    at: datetime
    action: str
    actor_id: str
    actor_name: str
    role: str
    actor_department_id: str | None
    department_id: str | None
    from_status: str | None
    to_status: str
    note: str
    data: dict[str, Any]


class LinkOut(BaseModel):
    other_id: str
    kind: str


class TicketDetail(TicketOut):
    assist_ids: list[str]
    calls: list[str]
    links: list[LinkOut]
    history: list[EventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int
    total_is_lower_bound: bool
    limit: int
    offset: int


class TicketQuery(InputModel):
    number: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    query_code: str | None = Field(default=None, pattern=r"^[0-9]{8}$")
    phone: str | None = Field(default=None, pattern=PHONE)
    since: Instant | None = None
    until: Instant | None = None
    department_id: str | None = Field(default=None, min_length=1, max_length=36)
    status: str | None = Field(default=None, description="comma-separated statuses", max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=32)
    colour: Literal["green", "yellow", "red"] | None = None
    handler: str | None = Field(default=None, min_length=1, max_length=64, description="user id who acted on it")
    sort: Literal[tuple(queries.SORTS)] = "-received_at"  # type: ignore[valid-type]
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("status")
    @classmethod
    def _statuses(cls, v: str | None) -> str | None:
        if v is not None:
            bad = [s for s in v.split(",") if s not in STATUSES]
            if bad:
                raise ValueError(f"unknown status {bad[0]!r}; one of {', '.join(STATUSES)}")
        return v

    def to_filter(self) -> queries.TicketFilter:
        return queries.TicketFilter(
            number=self.number, query_code=self.query_code, phone=self.phone, since=self.since, until=self.until,
            department_id=self.department_id, status=tuple(self.status.split(",")) if self.status else (),
            category=self.category, colour=self.colour, handler=self.handler, sort=self.sort, limit=self.limit,
            offset=self.offset)


class ExportQuery(TicketQuery):
    format: Literal["csv", "xlsx"] = "csv"


class ActionIn(InputModel):
    """One step on a ticket. Which fields an action needs: dispatch (mode, department_id, assist_ids for
    协办, instructions for 交办), reject (reason), return (reason), reply (reply, satisfaction), answer
    (reply), request_extension (until or days, reason), explain (note), note (note), rate (rating),
    review (reason), link / merge (other_id)."""

    action: Literal[ACTIONS[1:]]  # type: ignore[valid-type]
    note: str = Field(default="", max_length=4000)
    mode: Literal[tuple(MODES)] | None = None  # type: ignore[valid-type]
    department_id: str | None = Field(default=None, min_length=1, max_length=36)
    assist_ids: list[str] | None = Field(default=None, max_length=20)
    instructions: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=1000,
                               description=f"for reject one of: {', '.join(REJECT_REASONS)}")
    reply: str | None = Field(default=None, max_length=8000)
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied", "unknown"] | None = None
    until: Day | None = None
    days: int | None = Field(default=None, ge=1, le=365)
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"] | None = None
    other_id: str | None = Field(default=None, min_length=1, max_length=36)

    def data(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude={"action", "note"}, exclude_none=True)
        if self.action in ("note", "explain") and self.note:
            out["note"] = self.note
        return out


class RevealIn(InputModel):
    fields: list[Literal["phone", "id_card"]] = Field(min_length=1, max_length=2)


class RevealOut(BaseModel):
    phone: str | None = None
    id_card: str | None = None


class LookupQuery(InputModel):
    phone: str = Field(pattern=PHONE)
    limit: int = Field(default=10, ge=1, le=50)


class CallBrief(BaseModel):
    id: str
    arrived_at: datetime
    status: str
    loss_stage: str | None


class LookupOut(BaseModel):
    phone: str
    tickets: list[TicketOut]
    calls: list[CallBrief]


class DuplicateQuery(InputModel):
    phone: str = Field(default="", pattern=r"^(\+?[0-9]{3,20})?$")
    content: str = Field(default="", max_length=4000)
    category: str = Field(min_length=1, max_length=32)


class SlipQuery(InputModel):
    format: Literal["html", "pdf"] = "html"
    reveal: bool = Field(default=False, description="whole phone number, for roles allowed to see it (audited)")


def _detail(view: TicketView, today: date, yellow_until: date) -> TicketDetail:
    base = TicketOut.of(view.ticket, today, yellow_until)
    return TicketDetail(
        **base.model_dump(), assist_ids=sorted(d.department_id for d in view.departments if d.role == "assist"),
        calls=view.calls, links=[LinkOut(other_id=li.other_id, kind=li.kind) for li in view.links],
        history=[EventOut.model_validate(e, from_attributes=True) for e in view.events])


@router.post("/tickets", summary="Create a ticket", tags=("tickets",), body=TicketIn, response=CreatedOut,
             status=201, roles=CENTER)
async def create_ticket(req: ApiRequest[TicketIn, Any]) -> CreatedOut:
    b = req.body
    if b.call_id and b.channel != "phone":
        raise BadTicketInput("call_id", "only phone tickets come from a call")
    service = req.ctx.get(TicketService)
    t, dups = await service.create(req.user, NewTicket(**b.model_dump()))
    today, yellow = await service.colour_days()
    return CreatedOut(**TicketOut.of(t, today, yellow).model_dump(),
                      duplicates=[DuplicateOut(**d.__dict__) for d in dups])


@router.get("/tickets", summary="List tickets", tags=("tickets",), query=TicketQuery, response=TicketPage)
async def list_tickets(req: ApiRequest[Any, TicketQuery]) -> TicketPage:
    service = req.ctx.get(TicketService)
    dl = await service.deadlines()
    today, yellow = await service.colour_days()
    rows, total, capped = await queries.page(service.db, req.user, req.query.to_filter(), dl, today)
    return TicketPage(items=[TicketOut.of(t, today, yellow) for t in rows], total=total, total_is_lower_bound=capped,
                      limit=req.query.limit, offset=req.query.offset)


@router.get("/tickets/export", summary="Export a filtered list as CSV or XLSX", tags=("tickets",), query=ExportQuery,
            content_type="application/octet-stream")
async def export_tickets(req: ApiRequest[Any, ExportQuery]) -> web.Response:
    f = await export.export_tickets(req.ctx.get(TicketService), req.user, req.query.to_filter(), req.query.format)
    return web.Response(body=f.body, content_type=f.content_type, charset=f.charset,
                        headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})


@router.get("/tickets/duplicates", summary="Duplicate candidates for a new ticket", tags=("tickets",),
            query=DuplicateQuery, response=None, roles=CENTER)
async def duplicate_candidates(req: ApiRequest[Any, DuplicateQuery]) -> list[DuplicateOut]:
    q = req.query
    found = await req.ctx.get(TicketService).duplicates(req.user, phone=q.phone, content=q.content,
                                                        category=q.category)
    return [DuplicateOut(**d.__dict__) for d in found]


@router.get("/tickets/lookup", summary="Screen pop: a caller's last tickets and calls", tags=("tickets",),
            query=LookupQuery, response=LookupOut, roles=CENTER)
async def lookup(req: ApiRequest[Any, LookupQuery]) -> LookupOut:
    service = req.ctx.get(TicketService)
    today, yellow = await service.colour_days()
    hist = await queries.caller_history(service.db, req.user, req.query.phone, limit=req.query.limit)
    return LookupOut(phone=mask_phone(req.query.phone), tickets=[TicketOut.of(t, today, yellow) for t in hist.tickets],
                     calls=[CallBrief.model_validate(c, from_attributes=True) for c in hist.calls])


@router.get("/tickets/{ref}", summary="Get a ticket with its history", tags=("tickets",), response=TicketDetail,
            responses={404: "no such ticket (or not visible to this user)"})
async def get_ticket(req: ApiRequest[Any, Any]) -> TicketDetail:
    service = req.ctx.get(TicketService)
    today, yellow = await service.colour_days()
    return _detail(await service.get(req.user, req.path["ref"]), today, yellow)


@router.post("/tickets/{ref}/actions", summary="Apply an action to a ticket", tags=("tickets",), body=ActionIn,
             response=TicketDetail, responses={404: "no such ticket", 403: "role may not do this",
                                               409: "illegal in the ticket's state"})
async def act(req: ApiRequest[ActionIn, Any]) -> TicketDetail:
    service = req.ctx.get(TicketService)
    b = req.body
    t = await service.act(req.user, req.path["ref"], b.action, b.data(), note=b.note)
    today, yellow = await service.colour_days()
    try:
        return _detail(await service.get(req.user, t.id), today, yellow)
    except TicketNotFound:  # a handler who returned the ticket no longer sees it
        return TicketDetail(**TicketOut.of(t, today, yellow).model_dump(), assist_ids=[], calls=[], links=[],
                            history=[])


@router.post("/tickets/{ref}/reveal", summary="Whole phone / ID-card number (audited)", tags=("tickets",),
             body=RevealIn, response=RevealOut, responses={404: "no such ticket"})
async def reveal(req: ApiRequest[RevealIn, Any]) -> RevealOut:
    fields: list[str] = list(dict.fromkeys(req.body.fields))
    return RevealOut(**await req.ctx.get(TicketService).reveal(req.user, req.path["ref"], fields))


@router.get("/tickets/{ref}/slip", summary="Printable transfer slip (转办单), HTML or PDF", tags=("tickets",),
            query=SlipQuery, responses={404: "no such ticket"}, content_type="text/html")
async def slip(req: ApiRequest[Any, SlipQuery]) -> web.Response:
    data = await transfer_slip(req.ctx.get(TicketService), req.user, req.path["ref"], reveal=req.query.reveal)
    if req.query.format == "pdf":
        return web.Response(body=render_pdf(data), content_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="slip-{data.number}.pdf"'})
    return web.Response(text=render_html(data), content_type="text/html", charset="utf-8")
