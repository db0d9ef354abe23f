"""The citizens' status lookup by query code (查询码): no login, rate-limited, no personal data."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from callcore.api.ratelimit import RateLimiter
from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel
from callcore.core.errors import InvalidInput
from callcore.tickets import public

router = Router("/api/v1")


class PublicLimiter(RateLimiter):
    """Lookups per client address (the tickets plugin provides one, ``public_lookups_per_minute``)."""


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


@router.get("/public/tickets/{query_code}", summary="Ticket status by query code (citizens)", tags=("public",),
            query=PublicQuery, response=PublicStatus, auth=False,
            responses={404: "no ticket with this code", 429: "too many lookups"})
async def public_status(req: ApiRequest[Any, PublicQuery]) -> PublicStatus:
    req.ctx.get(PublicLimiter).check(req.raw.remote or "unknown")
    code = req.path["query_code"]
    if not (code.isascii() and code.isdigit() and len(code) == 8):
        raise InvalidInput("query_code: 8 digits", details=[{"field": "query_code", "in": "path",
                                                             "message": "8 digits"}])
    view = await public.status(req.ctx.db, code, req.query.phone)
    return PublicStatus.model_validate(view, from_attributes=True)
