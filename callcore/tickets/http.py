"""Tickets (W-1..W-17): create, list, get with history, act, export, slip, reveal, screen pop."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationInfo, computed_field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import Day, InputModel, Instant
from callcore.core.identity import CENTER, PHONE_ROLES
from callcore.core.privacy import mask_id_card, mask_phone, scrub
from callcore.store.db import Database
from callcore.tickets import export, names, phones, queries, search, vocabulary
from callcore.tickets.deadlines import colour_of
from callcore.tickets.errors import BadTicketInput, TicketNotFound
from callcore.tickets.models import Ticket, TicketEvent
from callcore.tickets.names import Names
from callcore.tickets.services import NewTicket, TicketService, TicketView
from callcore.tickets.slip import render_html, render_pdf, transfer_slip
from callcore.tickets import urge_notice as urge_notices
from callcore.tickets.workflow import (
    ACTION_TEXT,
    ACTIONS,
    CORRECTABLE,
    MODES,
    PAUSE_KINDS,
    REJECT_REASONS,
    STATUS_TEXT,
    SYSTEM_ACTIONS,
)

router = Router("/api/v1")
PHONE = r"^\+?[0-9]{3,20}$"
PDF = "application/pdf"


def _ticket_links(ref: str) -> dict[str, Link]:
    """What a client does next with a ticket it was given: read it, act on it, print it."""
    return {
        "ticket": Link(method="GET", path="/tickets/{ref}", parameters={"ref": ref}),
        "act": Link(method="POST", path="/tickets/{ref}/actions", parameters={"ref": ref}),
        "reveal": Link(method="POST", path="/tickets/{ref}/reveal", parameters={"ref": ref}),
        "slip": Link(method="GET", path="/tickets/{ref}/slip", parameters={"ref": ref}),
        "urge_notice": Link(method="GET", path="/tickets/{ref}/urge-notice", parameters={"ref": ref}),
    }


class TicketIn(InputModel):
    channel: Literal["phone", "web", "sms", "mail"] = "phone"
    call_id: str | None = Field(default=None, min_length=1, max_length=36)
    caller_name: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=phones.MAX_INPUT,
                       description="a mobile (+86, spaces, dashes allowed) or a landline with its area code "
                                   "(0931-8888888, (0931)8888888); stored as digits")
    id_card: str = Field(default="", pattern=r"^([0-9]{17}[0-9Xx])?$")
    address: str = Field(default="", max_length=256)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    category: str = Field(min_length=1, max_length=32)
    title: str = Field(default="", max_length=128)
    content: str = Field(min_length=1, max_length=4000)
    urgency: Literal["normal", "urgent"] = "normal"
    received_at: Instant | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return _phone_number(v)


def _phone_number(v: str) -> str:
    try:
        return phones.normalise(v)
    except phones.BadPhone as bad:
        raise PydanticCustomError("phone_format", "{text}", {"text": bad.text}) from None


class DuplicateOut(BaseModel):
    ticket_id: str
    number: str
    reason: str
    score: float
    status: str
    received_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)


class TicketOut(BaseModel):
    id: str
    number: str
    query_code: str
    channel: str
    channel_text: str
    call_id: str | None
    caller_name: str
    phone: str = Field(description="masked (A-2); POST .../reveal for the whole value")
    id_card: str = Field(description="masked (A-2)")
    address: str
    category: str
    category_name: str
    title: str
    content: str
    urgency: str
    urgency_text: str
    received_at: datetime
    created_by: str
    created_by_name: str | None
    status: str
    status_text: str
    mode: str | None
    department_id: str | None
    department_name: str | None
    due_date: date
    sign_by: date | None
    extension_until: date | None
    colour: Literal["green", "yellow", "red"]
    urge_count: int
    redo_count: int
    supervised: bool
    satisfaction: str | None
    satisfaction_text: str
    visit: str | None
    reply: str
    reject_reason: str | None
    reject_reason_text: str
    merged_into: str | None
    merged_into_number: str | None
    closed_at: datetime | None
    closed_on_time: bool | None
    updated_at: datetime
    deadline_unverified: bool = Field(description="the deadline spans a year without official holiday data")
    paused_on: date | None = Field(description="the clock stopped that day (听证/评审/踏勘), until resumed")
    pause_kind: str | None
    first_responsible_id: str | None = Field(description="首问负责人: the first member of staff who took the ticket")
    first_responsible_name: str | None

    @classmethod
    def of(cls, t: Ticket, today: date, yellow_until: date, names: Names) -> TicketOut:
        return cls(
            id=t.id, number=t.number, query_code=t.query_code, channel=t.channel,
            channel_text=vocabulary.text_of("channel", t.channel), call_id=t.call_id, caller_name=t.caller_name,
            phone=mask_phone(t.phone), id_card=mask_id_card(t.id_card), address=t.address, category=t.category,
            category_name=names.category(t.category), title=t.title, content=t.content, urgency=t.urgency,
            urgency_text=vocabulary.text_of("urgency", t.urgency), received_at=t.received_at,
            created_by=t.created_by, created_by_name=names.user(t.created_by),
            status=t.status, status_text=STATUS_TEXT.get(t.status, t.status), mode=t.mode,
            department_id=t.department_id, department_name=names.department(t.department_id), due_date=t.due_date,
            sign_by=t.sign_by, extension_until=t.extension_until,
            colour=colour_of(t.status, t.due_date, t.closed_on_time, today, yellow_until),  # type: ignore[arg-type]
            urge_count=t.urge_count, redo_count=t.redo_count, supervised=t.supervised, satisfaction=t.satisfaction,
            satisfaction_text=vocabulary.text_of("satisfaction", t.satisfaction), visit=t.visit, reply=t.reply,
            reject_reason=t.reject_reason, reject_reason_text=vocabulary.text_of("reason", t.reject_reason),
            merged_into=t.merged_into, merged_into_number=names.ticket(t.merged_into), closed_at=t.closed_at,
            closed_on_time=t.closed_on_time, updated_at=t.updated_at, deadline_unverified=bool(t.due_unverified),
            paused_on=t.paused_on, pause_kind=t.pause_kind, first_responsible_id=t.first_responsible_id,
            first_responsible_name=t.first_responsible_name)


class CreatedOut(TicketOut):
    duplicates: list[DuplicateOut]


class EventOut(BaseModel):
    seq: int
    at: datetime
    action: str
    action_text: str
    actor_id: str
    actor_name: str
    role: str
    actor_department_id: str | None
    actor_department_name: str | None
    department_id: str | None
    department_name: str | None
    from_status: str | None
    to_status: str
    note: str
    data: dict[str, Any]
    assist_names: list[str] = Field(description="names of data.assist_ids (a co-handling dispatch)")
    other_number: str | None = Field(description="number of the ticket data.other_id names (link, merge)")

    @classmethod
    def of(cls, e: TicketEvent, names: Names) -> EventOut:
        data = dict(e.data or {})
        other = data.get("other_id")
        return cls(
            seq=e.seq, at=e.at, action=e.action, action_text=ACTION_TEXT.get(e.action, e.action), actor_id=e.actor_id,
            actor_name=e.actor_name or names.user(e.actor_id) or "", role=e.role,
            actor_department_id=e.actor_department_id, actor_department_name=names.department(e.actor_department_id),
            department_id=e.department_id, department_name=names.department(e.department_id),
            from_status=e.from_status, to_status=e.to_status, note=e.note, data=data,
            assist_names=[names.department(str(d)) or str(d) for d in data.get("assist_ids") or ()],
            other_number=data.get("other_number") or (names.ticket(str(other)) if other else None))


class LinkOut(BaseModel):
    other_id: str
    other_number: str | None
    kind: str


class TicketDetail(TicketOut):
    assist_ids: list[str]
    assist_names: list[str]
    calls: list[str]
    links: list[LinkOut]
    history: list[EventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int
    total_is_lower_bound: bool
    limit: int
    offset: int


def _flag(description: str) -> Any:
    return Field(default=None, description=description)


class TicketQuery(InputModel):
    q: str | None = Field(default=None, min_length=1, max_length=search.MAX_QUERY,
                          description="words of the content, address, title or caller's name (Chinese, ranked)")
    number: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    query_code: str | None = Field(default=None, pattern=r"^[0-9]{8}$")
    phone: str | None = Field(default=None, max_length=phones.MAX_INPUT, description="the whole number, as typed")
    phone_tail: str | None = Field(default=None, pattern=r"^[0-9]{4}$", description="the phone's last 4 digits")
    since: Instant | None = None
    until: Instant | None = None
    department_id: str | None = Field(default=None, min_length=1, max_length=128,
                                      description="a department's id, code or name")
    status: str | None = Field(default=None, description="comma-separated statuses (codes or Chinese)",
                               max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=64, description="code or Chinese name")
    channel: str | None = Field(default=None, max_length=100, description="comma-separated channels (codes or Chinese)")
    urgency: str | None = Field(default=None, max_length=16, description="normal / urgent or 一般 / 紧急")
    reason: str | None = Field(default=None, max_length=200, description="reject reasons (codes or Chinese)")
    satisfaction: str | None = Field(default=None, max_length=100, description="codes or Chinese (满意, 不满意...)")
    colour: Literal["green", "yellow", "red"] | None = None
    handler: str | None = Field(default=None, min_length=1, max_length=64, description="user id who acted on it")
    pending_extension: bool | None = _flag("an extension asked for and not yet decided")
    awaiting_callback: bool | None = _flag("sampled for a satisfaction callback, not yet rated")
    supervised: bool | None = _flag("under supervision (督办)")
    overdue: bool | None = _flag("open and past its deadline")
    mine: bool = Field(default=False, description="created by me, or with my department")
    sort: Literal[queries.SORT_NAMES] | None = Field(  # type: ignore[valid-type]
        default=None, description="default: relevance with q, else -received_at")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("status", "channel", "reason", "satisfaction")
    @classmethod
    def _codes(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else ",".join(vocabulary.codes_of(str(info.field_name), v)) or None

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, v: str | None) -> str | None:
        return None if v is None else vocabulary.code_of("urgency", v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return None if v is None else _phone_number(v) or None

    @model_validator(mode="after")
    def _relevance_needs_words(self) -> TicketQuery:
        if self.sort == queries.RELEVANCE and not self.q:
            raise PydanticCustomError("relevance_without_q", "按相关度排序需要搜索词（q）")
        return self

    async def to_filter(self, db: Database) -> queries.TicketFilter:
        """The filter, with departments and categories given by name resolved to their ids and codes."""
        def split(v: str | None) -> tuple[str, ...]:
            return tuple(v.split(",")) if v else ()

        return queries.TicketFilter(
            number=self.number, query_code=self.query_code, phone=self.phone, phone_tail=self.phone_tail,
            text=self.q, since=self.since, until=self.until,
            department_id=await names.department_id(db, self.department_id) if self.department_id else None,
            status=split(self.status),
            category=await names.category_code(db, self.category) if self.category else None,
            channel=split(self.channel), urgency=self.urgency, reason=split(self.reason),
            satisfaction=split(self.satisfaction), colour=self.colour, handler=self.handler,
            pending_extension=self.pending_extension, awaiting_callback=self.awaiting_callback,
            supervised=self.supervised, overdue=self.overdue, mine=self.mine,
            sort=self.sort or (queries.RELEVANCE if self.q else "-received_at"), limit=self.limit, offset=self.offset)


class ExportQuery(TicketQuery):
    format: Literal["csv", "xlsx"] = "csv"


class ActionIn(InputModel):
    """One step on a ticket. Which fields an action needs: dispatch (mode, department_id, assist_ids for
    协办, instructions for 交办), reject (reason), return (reason), reply (reply; satisfaction optional,
    the centre records it at the callback), answer (reply), request_extension (until or days, reason),
    approve_extension (until, optional: a shorter extension than asked), explain (note), note (note),
    rate (rating), review (reason), link / merge (other_id), withdraw_sample (reason), pause (kind,
    reason), resume, reclassify (category, reason), correct (field, value, reason), instruct
    (instructions: a leader's 批示)."""

    action: Literal[tuple(a for a in ACTIONS[1:] if a not in SYSTEM_ACTIONS)]  # type: ignore[valid-type]
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
    kind: Literal[tuple(PAUSE_KINDS)] | None = Field(  # type: ignore[valid-type]
        default=None, description="pause: hearing (听证), review (评审) or survey (踏勘)")
    category: str | None = Field(default=None, min_length=1, max_length=32, description="reclassify: the new category")
    field: Literal[tuple(CORRECTABLE)] | None = Field(  # type: ignore[valid-type]
        default=None, description="correct: which field (address, content)")
    value: str | None = Field(default=None, max_length=4000, description="correct: the corrected text")

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


# What people typed (the citizen's words, the address, the reply): a phone or ID number written inside
# it is masked like the phone field: in every list, and in a ticket's detail for the roles that
# may not see a citizen's number (leaders).
FREE_TEXT = ("caller_name", "address", "title", "content", "reply")
TO = TypeVar("TO", bound=TicketOut)


def _masked_text(out: TO) -> TO:
    return out.model_copy(update={k: scrub(getattr(out, k)) for k in FREE_TEXT})


def _masked_event(e: EventOut) -> EventOut:
    """A history entry's note and data (a correction keeps the old content) masked the same way."""
    data = {k: scrub(v) if isinstance(v, str) else v for k, v in e.data.items()}
    return e.model_copy(update={"note": scrub(e.note), "data": data})


async def _names_of(db: Database, tickets: Iterable[Ticket]) -> Names:
    """The names a list of tickets shows: their creators and the tickets they were merged into."""
    rows = list(tickets)
    return await names.load(db, users=(t.created_by for t in rows), tickets=(t.merged_into for t in rows))


async def _detail(db: Database, view: TicketView, today: date, yellow_until: date, *, whole: bool) -> TicketDetail:
    """A ticket with its history, every id beside the name or number people know it by; ``whole``: the
    numbers written in its text shown as written (roles that may see a citizen's number)."""
    t = view.ticket
    others = [li.other_id for li in view.links] + [str(e.data.get("other_id")) for e in view.events
                                                    if (e.data or {}).get("other_id")]
    known = await names.load(db, users=[t.created_by, *(e.actor_id for e in view.events)],
                             tickets=[t.merged_into, *others])
    assists = sorted(d.department_id for d in view.departments if d.role == "assist")
    detail = TicketDetail(
        **TicketOut.of(t, today, yellow_until, known).model_dump(), assist_ids=assists,
        assist_names=[known.department(d) or d for d in assists], calls=view.calls,
        links=[LinkOut(other_id=li.other_id, other_number=known.ticket(li.other_id), kind=li.kind) for li in view.links],
        history=[EventOut.of(e, known) for e in view.events])
    if whole:
        return detail
    return _masked_text(detail).model_copy(update={"history": [_masked_event(e) for e in detail.history]})


@router.post("/tickets", summary="Create a ticket", tags=("tickets",), body=TicketIn, response=CreatedOut,
             status=201, roles=CENTER,
             links={**_ticket_links("$response.body#/id"),
                    "by_number": Link(method="GET", path="/tickets/{ref}",
                                      parameters={"ref": "$response.body#/number"}),
                    "public_status": Link(method="GET", path="/public/tickets/{query_code}",
                                          parameters={"query_code": "$response.body#/query_code"})})
async def create_ticket(req: ApiRequest[TicketIn, Any]) -> CreatedOut:
    b = req.body
    if b.call_id and b.channel != "phone":
        raise BadTicketInput("call_id", "only phone tickets come from a call")
    service = req.ctx.get(TicketService)
    t, dups = await service.create(req.user, NewTicket(**b.model_dump()))
    today, yellow = await service.colour_days()
    return CreatedOut(**TicketOut.of(t, today, yellow, await _names_of(service.db, [t])).model_dump(),
                      duplicates=[DuplicateOut(**d.__dict__) for d in dups])


@router.get("/tickets", summary="List tickets", tags=("tickets",), query=TicketQuery, response=TicketPage)
async def list_tickets(req: ApiRequest[Any, TicketQuery]) -> TicketPage:
    service = req.ctx.get(TicketService)
    dl = await service.deadlines()
    today, yellow = await service.colour_days()
    rows, total, capped = await queries.page(service.db, req.user, await req.query.to_filter(service.db), dl, today)
    known = await _names_of(service.db, rows)
    return TicketPage(items=[_masked_text(TicketOut.of(t, today, yellow, known)) for t in rows], total=total,
                      total_is_lower_bound=capped, limit=req.query.limit, offset=req.query.offset)


@router.get("/tickets/export", summary="Export a filtered list as CSV or XLSX", tags=("tickets",), query=ExportQuery,
            content_type=("text/csv", export.XLSX))
async def export_tickets(req: ApiRequest[Any, ExportQuery]) -> web.Response:
    service = req.ctx.get(TicketService)
    f = await export.export_tickets(service, req.user, await req.query.to_filter(service.db), req.query.format)
    return web.Response(body=f.body, content_type=f.content_type, charset=f.charset,
                        headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})


@router.get("/tickets/duplicates", summary="Duplicate candidates for a new ticket", tags=("tickets",),
            query=DuplicateQuery, response=list[DuplicateOut], roles=CENTER)
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
    known = await _names_of(service.db, hist.tickets)
    return LookupOut(phone=mask_phone(req.query.phone),
                     tickets=[_masked_text(TicketOut.of(t, today, yellow, known)) for t in hist.tickets],
                     calls=[CallBrief.model_validate(c, from_attributes=True) for c in hist.calls])


@router.get("/tickets/{ref}", summary="Get a ticket with its history", tags=("tickets",), response=TicketDetail,
            responses={404: "no such ticket (or not visible to this user)"})
async def get_ticket(req: ApiRequest[Any, Any]) -> TicketDetail:
    service = req.ctx.get(TicketService)
    today, yellow = await service.colour_days()
    return await _detail(service.db, await service.get(req.user, req.path["ref"]), today, yellow,
                         whole=req.user.role in PHONE_ROLES)


@router.post("/tickets/{ref}/actions", summary="Apply an action to a ticket", tags=("tickets",), body=ActionIn,
             response=TicketDetail, responses={404: "no such ticket", 403: "role may not do this",
                                               409: "illegal in the ticket's state"},
             links=_ticket_links("$response.body#/id"))
async def act(req: ApiRequest[ActionIn, Any]) -> TicketDetail:
    service = req.ctx.get(TicketService)
    b = req.body
    t = await service.act(req.user, req.path["ref"], b.action, b.data(), note=b.note)
    today, yellow = await service.colour_days()
    try:
        return await _detail(service.db, await service.get(req.user, t.id), today, yellow,
                             whole=req.user.role in PHONE_ROLES)
    except TicketNotFound:  # the step took the ticket out of this user's sight
        out = TicketOut.of(t, today, yellow, await _names_of(service.db, [t]))
        if req.user.role not in PHONE_ROLES:
            out = _masked_text(out)
        return TicketDetail(**out.model_dump(), assist_ids=[], assist_names=[], calls=[], links=[], history=[])


@router.post("/tickets/{ref}/reveal", summary="Whole phone / ID-card number (audited)", tags=("tickets",),
             body=RevealIn, response=RevealOut, responses={404: "no such ticket"})
async def reveal(req: ApiRequest[RevealIn, Any]) -> RevealOut:
    fields: list[str] = list(dict.fromkeys(req.body.fields))
    return RevealOut(**await req.ctx.get(TicketService).reveal(req.user, req.path["ref"], fields))


@router.get("/tickets/{ref}/slip", summary="Printable transfer slip (转办单), HTML or PDF", tags=("tickets",),
            query=SlipQuery, responses={404: "no such ticket"}, content_type=("text/html", PDF))
async def slip(req: ApiRequest[Any, SlipQuery]) -> web.Response:
    data = await transfer_slip(req.ctx.get(TicketService), req.user, req.path["ref"], reveal=req.query.reveal)
    if req.query.format == "pdf":
        return web.Response(body=render_pdf(data), content_type=PDF,
                            headers={"Content-Disposition": f'inline; filename="slip-{data.number}.pdf"'})
    return web.Response(text=render_html(data), content_type="text/html", charset="utf-8")


class UrgeNoticeQuery(InputModel):
    format: Literal["html", "pdf"] = "html"
    number: int | None = Field(default=None, ge=1, le=10_000, description="which urge (第N次); the latest without it")


@router.get("/tickets/{ref}/urge-notice", summary="Printable urge notice (催办通知书), HTML or PDF", tags=("tickets",),
            query=UrgeNoticeQuery, responses={404: "no such ticket, or no such urge"}, content_type=("text/html", PDF))
async def urge_notice(req: ApiRequest[Any, UrgeNoticeQuery]) -> web.Response:
    n = await urge_notices.urge_notice(req.ctx.get(TicketService), req.user, req.path["ref"], req.query.number)
    if req.query.format == "pdf":
        name = f"urge-{n.number}-{n.urge_number}.pdf"
        return web.Response(body=urge_notices.render_pdf(n), content_type=PDF,
                            headers={"Content-Disposition": f'inline; filename="{name}"'})
    return web.Response(text=urge_notices.render_html(n), content_type="text/html", charset="utf-8")
