"""The citizens' status lookup by query code (查询码): no login, rate-limited, no personal data."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from callcore.api.errors import InvalidInput, NotFound
from callcore.api.validation import InputModel
from callcore.api.router import ApiRequest, Router
from callcore.privacy import scrub
from callcore.tickets.calendar import LOCAL_TZ
from callcore.tickets.models import Category, Ticket
from callcore.tickets.wiring import PUBLIC_LIMITER, TICKETS
from callcore.tickets.workflow import STATUS_TEXT

router = Router("/api/v1")


class PublicQuery(InputModel):
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{4,20}$",
                              description="the caller's number or its last 4 digits; shows the reply when it matches")


class PublicStatus(BaseModel):
    query_code: str
    status: str
    status_text: str
    category: str
    received_on: date
    due_date: date
    closed_on: date | None
    reply: str | None = Field(description="only when the phone matched")


def _client(req: ApiRequest[Any, Any]) -> str:
    return req.raw.remote or "unknown"


@router.get("/public/tickets/{query_code}", summary="Ticket status by query code (citizens)", tags=("public",),
            query=PublicQuery, response=PublicStatus, auth=False,
            responses={404: "no ticket with this code", 429: "too many lookups"})
async def public_status(req: ApiRequest[Any, PublicQuery]) -> PublicStatus:
    req.app[PUBLIC_LIMITER].check(_client(req))
    code = req.path["query_code"]
    if not (code.isascii() and code.isdigit() and len(code) == 8):
        raise InvalidInput("query_code: 8 digits", details=[{"field": "query_code", "in": "path",
                                                             "message": "8 digits"}])
    async with req.app[TICKETS].db.session() as s:
        row = (await s.execute(select(Ticket, Category.name).join(Category, Category.code == Ticket.category)
                               .where(Ticket.query_code == code))).first()
    if row is None:
        raise NotFound("没有这个查询码的工单 (no ticket with this query code)")
    t, category = row
    phone = req.query.phone
    matched = bool(phone and t.phone and (t.phone == phone or (len(phone) == 4 and t.phone.endswith(phone))))
    return PublicStatus(
        query_code=t.query_code, status=t.status, status_text=STATUS_TEXT.get(t.status, t.status), category=category,
        received_on=t.received_at.astimezone(LOCAL_TZ).date(), due_date=t.due_date,
        closed_on=t.closed_at.astimezone(LOCAL_TZ).date() if t.closed_at else None,
        reply=scrub(t.reply) if matched and t.reply else None)
