"""The citizens' status lookup by query code (查询码), or by phone and the ID card's last 6
characters: no login, rate-limited per address (and per phone), no personal data."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from callcore.api.ratelimit import RateLimiter
from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel, field_error
from callcore.tickets import phones, public

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
        raise field_error("query_code", "path", "查询码为 8 位数字", "8 digits")
    view = await public.status(req.ctx.db, code, req.query.phone)
    return PublicStatus.model_validate(view, from_attributes=True)


def _phone(value: str) -> str:
    try:
        return phones.normalise(value) or value
    except phones.BadPhone as exc:
        raise PydanticCustomError("phone", exc.text) from None


class IdentityLookup(InputModel):
    phone: Annotated[str, AfterValidator(_phone)] = Field(
        min_length=7, max_length=phones.MAX_INPUT, description="the phone number given with the ticket, whole")
    id_card_tail: str = Field(pattern=r"^[0-9]{5}[0-9Xx]$",
                              description="the last 6 characters of the ID-card number given with the ticket")


class IdentityResult(BaseModel):
    items: list[PublicStatus]


@router.post("/public/lookup", summary="Tickets by phone and the ID card's last 6 characters (citizens)",
             tags=("public",), body=IdentityLookup, response=IdentityResult, auth=False,
             responses={404: "nothing found (the same answer for every miss)", 429: "too many lookups"})
async def identity_lookup(req: ApiRequest[IdentityLookup, Any]) -> IdentityResult:
    """A POST, so that neither number lands in an access log's URL."""
    limiter = req.ctx.get(PublicLimiter)
    limiter.check(req.raw.remote or "unknown")
    limiter.check(f"phone:{req.body.phone}")  # guessing tails from many addresses
    views = await public.by_identity(req.ctx.db, req.body.phone, req.body.id_card_tail)
    return IdentityResult(items=[PublicStatus.model_validate(v, from_attributes=True) for v in views])
