"""The call figures of C-2/C-3 for reports and wallboards (S-3): one GET, bucketed by local hour,
local day, queue or agent, or in total, over the calls that arrived in a period."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel, Instant
from callcore.core.identity import STATS_READERS
from callcore.queues import queries
from callcore.queues.agents import CHINA

router = Router("/api/v1")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Ten years, as S-1's reports; hourly buckets for at most a year (8,784 rows).
MAX_PERIOD = timedelta(days=3660)
MAX_HOURLY_PERIOD = timedelta(days=366)


def _local_midnight(value: Any) -> Any:
    """A bare day means its start in Beijing time, the day a report reader has in mind; an instant
    keeps its own offset (and one without an offset is refused: it would be a guess)."""
    if isinstance(value, str) and _DAY.fullmatch(value):
        return datetime.combine(date.fromisoformat(value), time(0), CHINA)
    return value


LocalInstant = Annotated[Instant, BeforeValidator(_local_midnight)]


class PeriodQuery(InputModel):
    """The period of a report (these call figures, the callbacks' figures): ``from`` and ``to``."""

    since: LocalInstant = Field(alias="from", description="start of the period, included: an instant with its "
                                "offset (2026-03-02T08:00:00+08:00) or a day (2026-03-02: its 00:00 in Beijing)")
    until: LocalInstant = Field(alias="to", description="end of the period, excluded; the same forms")

    @model_validator(mode="after")
    def _period(self) -> PeriodQuery:
        if self.until <= self.since:
            raise ValueError("to must be after from")
        return self


class FiguresQuery(PeriodQuery):
    by: Literal["hour", "day", "queue", "agent", "total"] = Field(
        default="total", description="the buckets: local hour or day of arrival, queue, agent, or one total")

    @model_validator(mode="after")
    def _length(self) -> FiguresQuery:
        if self.until - self.since > MAX_PERIOD:
            raise ValueError("the period is at most ten years")
        if self.by == "hour" and self.until - self.since > MAX_HOURLY_PERIOD:
            raise ValueError("hourly figures cover at most 366 days; ask by day for longer periods")
        return self


class BucketOut(BaseModel):
    key: str | None = Field(description="the local hour (2026-03-02T10:00:00+08:00), the local day (2026-03-02), "
                            "the queue or the agent number; null for the total and for the calls that reached no "
                            "queue (by queue) or no agent (by agent)")
    calls: int = Field(description="every ended call that arrived in the bucket")
    offered: int = Field(description="calls that entered a queue")
    answered: int
    abandoned: int = Field(description="hung up waiting in a queue or while an agent's phone rang, after the "
                           "short-abandon threshold")
    short_abandons: int
    abandonment_rate: float | None = Field(description="abandoned ÷ (answered + abandoned)")
    service_level: dict[str, float | None] = Field(
        description="answered within N s ÷ answered, keyed by N")
    service_level_with_abandons: dict[str, float | None] = Field(
        description="answered within N s ÷ (answered + abandoned after N s), keyed by N")
    asa_from_queue: float | None = Field(description="mean seconds from queue entry to an agent's answer")
    asa_from_arrival: float | None = Field(description="mean seconds from arrival to an agent's answer")
    average_handle_time: float | None = Field(description="mean seconds of talk and hold plus wrap-up")
    occupancy: float | None = Field(description="handle time ÷ (handle time + agents' idle time); by agent and "
                                    "in total only")
    idle_seconds: float | None = Field(description="the agents' available time within the period")
    loss_by_stage: dict[str, int] = Field(description="C-2: ivr, queue, ringing, refused; apart: timeout, short, "
                                          "system")
    ratings: int = Field(description="T-14: calls of the bucket the caller rated in the post-call survey (by agent: "
                         "the agent's ratings)")
    average_rating: float | None = Field(description="their mean key: 1 very satisfied, 2 satisfied, 3 basically "
                                         "satisfied, 4 unsatisfied (lower is better)")

    @classmethod
    def of(cls, f: queries.CallFigures) -> BucketOut:
        data = asdict(f)
        data["service_level"] = {str(k): v for k, v in f.service_level.items()}
        data["service_level_with_abandons"] = {str(k): v for k, v in f.service_level_with_abandons.items()}
        return cls(**data)


class FiguresOut(BaseModel):
    # The period leaves under the names it came in with (``from``, ``to``: Python keywords).
    model_config = ConfigDict(serialize_by_alias=True)

    by: str
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    service_levels: list[int] = Field(description="the targets N of the service levels, in seconds")
    buckets: list[BucketOut]


@router.get("/figures/calls", summary="Call figures (C-2, C-3) per hour, day, queue or agent", tags=("stats",),
            query=FiguresQuery, response=FiguresOut, roles=STATS_READERS)
async def call_figures(req: ApiRequest[Any, FiguresQuery]) -> FiguresOut:
    q = req.query
    rows = await queries.call_figures(req.ctx.db, q.since, q.until, q.by)
    return FiguresOut.model_validate({"by": q.by, "from": q.since, "to": q.until,
                                      "service_levels": list(queries.SERVICE_LEVELS),
                                      "buckets": [BucketOut.of(r) for r in rows]})
