"""Calls and their timelines (C-1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from callcore.core.errors import NotFound
from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel
from callcore.calls import queries
from callcore.calls.models import Call
from callcore.calls.scope import CallScopes
from callcore.core.identity import CENTER
from callcore.core.privacy import mask_fields, mask_phone

router = Router("/api/v1")


class CallQuery(InputModel):
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    caller: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9]+$")
    status: Literal["active", "ended"] | None = None
    direction: Literal["inbound", "callback", "click_to_dial", "survey"] | None = Field(
        default=None, description="inbound (citizens' calls) or a call the hotline placed")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class CallOut(BaseModel):
    id: str
    channel_id: str
    direction: str
    caller_number: str
    caller_name: str
    dialed: str
    status: str
    stage: str
    arrived_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    hangup_by: str | None
    hangup_cause: int | None
    hangup_cause_text: str | None
    # The call's one outcome and the facts the figures read with it, once the call has ended
    # (None while it is active, and for calls stored before outcomes were).
    outcome: str | None
    loss_stage: str | None
    queue: str | None
    agent: str | None
    position: int | None
    waited: float | None
    queue_entered_at: datetime | None
    agent_answered_at: datetime | None
    talk_ended_at: datetime | None
    wrap_up_seconds: float | None
    attributes: dict[str, Any]

    @classmethod
    def of(cls, call: Call, *, whole_number: bool) -> CallOut:
        out = cls.model_validate(call, from_attributes=True)
        if not whole_number:
            out.caller_number = mask_phone(out.caller_number)
        return out


class CallEventOut(BaseModel):
    id: str
    seq: int
    at: datetime
    type: str
    data: dict[str, Any]


class CallPage(BaseModel):
    items: list[CallOut]
    total: int
    limit: int
    offset: int


class CallDetail(CallOut):
    timeline: list[CallEventOut]


@router.get("/calls", summary="List the calls the user may see", tags=("calls",), query=CallQuery,
            response=CallPage)
async def list_calls(req: ApiRequest[Any, CallQuery]) -> CallPage:
    q = req.query
    scope = await req.ctx.get(CallScopes).condition(req.user)
    rows, total = await queries.list_calls(
        req.ctx.db,
        queries.CallFilter(since=q.since, until=q.until, caller=q.caller, status=q.status, direction=q.direction,
                            limit=q.limit, offset=q.offset, scope=scope),
    )
    # numbers are masked in lists whatever the role.
    return CallPage(items=[CallOut.of(c, whole_number=False) for c in rows], total=total, limit=q.limit, offset=q.offset)


@router.get("/calls/{call_id}", summary="Get a call with its timeline", tags=("calls",), response=CallDetail,
            responses={404: "no such call, or not one the user may see"})
async def get_call(req: ApiRequest[Any, Any]) -> CallDetail:
    scope = await req.ctx.get(CallScopes).condition(req.user)
    found = await queries.get_call(req.ctx.db, req.path["call_id"], scope)
    if found is None:
        raise NotFound(f"call {req.path['call_id']} not found")
    call, events = found
    whole = req.user.role in CENTER
    base = CallOut.of(call, whole_number=whole)
    timeline = [CallEventOut.model_validate(e, from_attributes=True) for e in events]
    if not whole:
        # The timeline repeats the number (the arrival, transfers, callbacks): masked like the call's own field.
        timeline = [t.model_copy(update={"data": mask_fields(t.data)}) for t in timeline]
    return CallDetail(**base.model_dump(), timeline=timeline)


