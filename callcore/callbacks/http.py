"""Callback tasks (漏接回拨, T-11) for agents and supervisors, their figures, and click-to-dial (T-12).

Numbers are masked in lists whatever the role (A-2); a task's detail shows the whole number to the
roles that work with phone numbers. Click-to-dial is the agent's own: an agent rings only their
own phone, supervisors may place a call for any agent; a click-to-dial may serve a callback task
(an attempt on it, as the dialer's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel
from callcore.callbacks.clicktodial import ClickToDial
from callcore.callbacks.models import CallbackAttempt, CallbackTask
from callcore.callbacks.services import CallbackService
from callcore.core.identity import AGENT, FLOOR_MANAGERS, PHONE_ROLES, STATS_READERS
from callcore.core.privacy import mask_phone
from callcore.queues.http import acting_agent
from callcore.queues.http_figures import PeriodQuery

router = Router("/api/v1")
ID = r"^[A-Za-z0-9-]{1,36}$"
TASK_READERS = FLOOR_MANAGERS | {AGENT}
Status = Literal["pending", "dialling", "reached", "failed", "expired", "cancelled"]


class TaskQuery(InputModel):
    status: Status | None = None
    origin: Literal["offer", "missed", "voicemail"] | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class AttemptOut(BaseModel):
    n: int
    call_id: str
    agent: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str = Field(description="dialling, talking, reached, no_answer, busy, failed, agent_gone, interrupted")
    cause: int | None


class TaskOut(BaseModel):
    id: str
    number: str = Field(description="masked in lists")
    origin: str = Field(description="why first: offer (chose a callback in the queue), missed, voicemail")
    origins: list[dict[str, Any]] = Field(description="every call and message that asked for this callback")
    call_id: str | None
    queue: str
    entered_at: datetime = Field(description="the original queue entry: the task's place in line")
    priority: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    deadline: datetime | None
    created_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
    agent: str | None
    tries: list[AttemptOut] = Field(default_factory=list, description="every attempt (in a task's detail): the "
                                    "callback dialer's and agents' click-to-dial with the task (`callback`)")

    @classmethod
    def of(cls, t: CallbackTask, *, whole: bool, attempts: list[CallbackAttempt] | None = None) -> TaskOut:
        return cls(
            id=t.id, number=t.number if whole else mask_phone(t.number), origin=t.origin,
            origins=[{k: v for k, v in o.items()} for o in t.origins], call_id=t.call_id, queue=t.queue,
            entered_at=t.entered_at, priority=t.priority, status=t.status, attempts=t.attempts,
            next_attempt_at=t.next_attempt_at, deadline=t.deadline, created_at=t.created_at, closed_at=t.closed_at,
            closed_reason=t.closed_reason, agent=t.agent,
            tries=[AttemptOut(n=a.n, call_id=a.call_id, agent=a.agent, started_at=a.started_at,
                                        ended_at=a.ended_at, outcome=a.outcome, cause=a.cause) for a in attempts or []])


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int = Field(description="tasks matching the filters in all")
    limit: int
    offset: int


class CancelIn(InputModel):
    reason: str = Field(min_length=1, max_length=32, description="why no callback is needed")


class OriginateIn(InputModel):
    number: str | None = Field(default=None, min_length=3, max_length=24,
                               description="the citizen's number (digits); may be left out with `callback` (the "
                               "task's number is dialled), and if given must be the task's (400 otherwise)")
    ticket_id: str | None = Field(default=None, max_length=36, pattern=ID,
                                  description="the ticket (id or number) this call is about, e.g. a satisfaction "
                                  "callback (W-12): the call and its recording are linked to it")
    callback: str | None = Field(default=None, max_length=36, pattern=ID,
                                 description="the callback task (id) this call serves: the task must be pending, not "
                                 "being dialled by the callback dialer (which leaves it alone meanwhile); the call "
                                 "is an attempt on the task, listed in its attempts like the dialer's: reached "
                                 "closes the task, no answer or busy leaves it to the dialer's retries")

    @model_validator(mode="after")
    def _someone(self) -> OriginateIn:
        if self.number is None and self.callback is None:
            raise ValueError("a number or a callback task is needed")
        return self


class OriginateOut(BaseModel):
    call_id: str = Field(description="the call's record; with `callback`, the call of the task's new attempt")
    agent: str = Field(description="the agent whose phone rings first")


class CallbackFigures(BaseModel):
    """Tasks made in the period: how many, how each ended or that it is still open."""

    created: int
    reached: int
    failed: int
    expired: int
    cancelled: int
    open: int
    by_origin: dict[str, int] = Field(description="tasks per first reason: offer, missed, voicemail")
    median_seconds_to_callback: float | None = Field(description="from the task's making to the citizen answering")


@router.get("/callbacks", summary="List callback tasks", tags=("callbacks",), query=TaskQuery, response=TaskPage,
            roles=TASK_READERS)
async def list_tasks(req: ApiRequest[Any, TaskQuery]) -> TaskPage:
    q = req.query
    rows, total = await req.ctx.get(CallbackService).page(status=[q.status] if q.status else [], origin=q.origin,
                                                          limit=q.limit, offset=q.offset)
    return TaskPage(items=[TaskOut.of(t, whole=False) for t in rows], total=total, limit=q.limit, offset=q.offset)


@router.get("/callbacks/figures", summary="Callback figures over a period", tags=("callbacks",), query=PeriodQuery,
            response=CallbackFigures, roles=STATS_READERS | FLOOR_MANAGERS)
async def figures(req: ApiRequest[Any, PeriodQuery]) -> dict[str, Any]:
    return await req.ctx.get(CallbackService).figures(req.query.since, req.query.until)


@router.get("/callbacks/{task_id}", summary="A callback task with its attempts", tags=("callbacks",),
            response=TaskOut, roles=TASK_READERS, responses={404: "no such task"})
async def get_task(req: ApiRequest[Any, Any]) -> TaskOut:
    task, attempts = await req.ctx.get(CallbackService).get(req.path["task_id"])
    return TaskOut.of(task, whole=req.user.role in PHONE_ROLES, attempts=attempts)


@router.post("/callbacks/{task_id}/cancel", summary="Close a callback task without calling", tags=("callbacks",),
             body=CancelIn, response=TaskOut, roles=FLOOR_MANAGERS,
             responses={404: "no such task", 409: "the task is closed already, or being dialled now"})
async def cancel(req: ApiRequest[CancelIn, Any]) -> dict[str, Any]:
    service = req.ctx.get(CallbackService)
    await service.cancel(req.path["task_id"], reason=req.body.reason)
    task, attempts = await service.get(req.path["task_id"])
    return TaskOut.of(task, whole=False, attempts=attempts).model_dump(mode="json")


@router.post("/agents/{number}/originate", summary="Click-to-dial: ring the agent's phone, then the citizen",
             tags=("callbacks", "agents"), body=OriginateIn, response=OriginateOut, status=202,
             roles=FLOOR_MANAGERS | {AGENT},
             responses={404: "no such agent, ticket or callback task",
                        409: "the agent cannot be rung now, or the callback task is closed or being dialled",
                        503: "no outbound trunk is configured"})
async def originate(req: ApiRequest[OriginateIn, Any]) -> OriginateOut:
    number, _ = await acting_agent(req)
    call_id = await req.ctx.get(ClickToDial).originate(agent=number, number=req.body.number, who=req.user,
                                                       ticket=req.body.ticket_id, callback=req.body.callback)
    return OriginateOut(call_id=call_id, agent=number)
