"""Survey ratings (T-14, W-12) for supervisors and reports: who rated which call, agent and ticket.

The callers' numbers are masked whatever the role (A-2), as in every list; the per-agent average
and count are in the call figures (``GET /api/v1/figures/calls?by=agent``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel, Instant
from callcore.core.identity import STATS_READERS
from callcore.core.privacy import mask_phone
from callcore.surveys.scale import SATISFACTION, WORDS
from callcore.surveys.services import Listed, SurveyFilter, SurveyService

router = Router("/api/v1")
ID = r"^[A-Za-z0-9-]{1,36}$"


class SurveyQuery(InputModel):
    call_id: str | None = Field(default=None, max_length=36, pattern=ID)
    ticket_id: str | None = Field(default=None, max_length=36, pattern=ID,
                                  description="ratings about this ticket or of a call linked to it")
    agent: str | None = Field(default=None, max_length=8, pattern=r"^[0-9]{1,8}$")
    queue: str | None = Field(default=None, max_length=64)
    kind: Literal["inbound", "outbound"] | None = None
    since: Instant | None = Field(default=None, alias="from", description="rated at or after")
    until: Instant | None = Field(default=None, alias="to", description="rated before")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class SurveyOut(BaseModel):
    id: str
    call_id: str
    ticket_id: str | None = Field(description="the ticket the survey was about (outbound), or the call's first "
                                  "linked ticket when it was rated (inbound)")
    agent: str | None
    queue: str | None
    kind: str = Field(description="inbound (after the agent hung up) or outbound (a survey call about a ticket)")
    rating: int = Field(description="the key: 1 very satisfied, 2 satisfied, 3 basically satisfied, 4 unsatisfied")
    rating_text: str
    satisfaction: str = Field(description="the ticket scale: 1, 2 satisfied; 3 basically_satisfied; 4 unsatisfied")
    at: datetime
    caller_number: str = Field(description="masked")

    @classmethod
    def of(cls, found: Listed) -> SurveyOut:
        r = found.row
        return cls(id=r.id, call_id=r.call_id, ticket_id=r.ticket_id, agent=r.agent, queue=r.queue, kind=r.kind,
                   rating=r.rating, rating_text=WORDS[r.rating], satisfaction=SATISFACTION[r.rating], at=r.at,
                   caller_number=mask_phone(found.caller_number))


class SurveyPage(BaseModel):
    items: list[SurveyOut]
    total: int
    limit: int
    offset: int


@router.get("/surveys", summary="List survey ratings", tags=("surveys",), query=SurveyQuery, response=SurveyPage,
            roles=STATS_READERS)
async def list_surveys(req: ApiRequest[Any, SurveyQuery]) -> SurveyPage:
    q = req.query
    rows, total = await req.ctx.get(SurveyService).page(SurveyFilter(
        call_id=q.call_id, ticket_id=q.ticket_id, agent=q.agent, queue=q.queue, kind=q.kind, since=q.since,
        until=q.until, limit=q.limit, offset=q.offset))
    return SurveyPage(items=[SurveyOut.of(r) for r in rows], total=total, limit=q.limit, offset=q.offset)
