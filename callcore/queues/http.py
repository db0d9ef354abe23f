"""Agents' own controls (log in, pause, resume, end wrap-up), the agent's live feed with its screen
pops (T-8), a call's screen pop by id, and the supervisors' wallboard (REST and live)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from callcore.api.router import ApiRequest, Reply, Router
from callcore.api.stream import feed, relay
from callcore.api.validation import InputModel
from callcore.calls.models import Call
from callcore.core.errors import Forbidden, NotFound
from callcore.core.identity import AGENT, FLOOR_MANAGERS, STATS_READERS
from callcore.queues.agents import AgentState
from callcore.queues.card import CallerCard, caller_card
from callcore.queues.directory import AgentDirectory
from callcore.queues.queries import CallFigures
from callcore.queues.services import QueueService, agent_topic
from callcore.queues.wallboard import Wallboard
from callcore.tickets.services import TicketService

router = Router("/api/v1")

AGENT_OR_FLOOR = FLOOR_MANAGERS | {AGENT}
WALLBOARD_READERS = STATS_READERS | FLOOR_MANAGERS
# Seconds between the wallboard's live snapshots (a wallboard's clocks tick in seconds).
WALLBOARD_PERIOD = 1.0
NO_AGENT: dict[int, str | Reply] = {404: "no such active agent (or the user is no agent)"}
AGENT_STEP = {**NO_AGENT, 409: "not possible in the agent's state"}


class PauseIn(InputModel):
    reason: str = Field(min_length=1, max_length=64, description="why, e.g. 休息, 培训, 会议")


class AgentStateOut(BaseModel):
    number: str
    status: str = Field(description="logged_out, available, ringing, on_call, wrap_up or paused")
    since: datetime = Field(description="when the current status began")
    pause_reason: str | None
    pending_pause: str | None = Field(description="a pause asked during a call, applied when it ends")
    registered: bool = Field(description="the agent's phone is registered")
    device_busy: bool = Field(description="the phone is in use outside the queue")
    call_id: str | None
    wrap_up_until: datetime | None
    missed_in_row: int
    missed_total: int


class CardFlags(BaseModel):
    blacklisted: bool
    blacklist_reason: str
    vip: bool
    repeat_caller: bool
    open_tickets: int


class CardCall(BaseModel):
    call_id: str
    arrived_at: datetime
    status: str
    stage: str
    loss_stage: str | None
    result_text: str
    duration_seconds: int | None = Field(description="arrival to end; null while it lasts")
    agent: str | None


class CardTicket(BaseModel):
    number: str
    category: str
    category_text: str
    status: str
    status_text: str
    colour: str
    received_at: datetime
    summary: str


class CardOut(BaseModel):
    """The caller's card (``CallerCard.to_json``): the number whole for the roles that need it (A-2)."""

    call_id: str
    caller_number: str
    caller_name: str
    tags: list[str]
    flags: CardFlags
    category: str | None = Field(description="the menu's hint")
    category_text: str
    ivr_path: list[str]
    calls: list[CardCall] = Field(description="the number's last calls")
    tickets: list[CardTicket] = Field(description="the number's last tickets, for roles that read every ticket")
    complete: bool = Field(description="false when the store could not be read in time")
    built_at: datetime


class AgentFeedMessage(BaseModel):
    """One message of an agent's feed: ``screen_pop`` when the agent's phone is asked to ring (the call,
    its ``queue``, ``origin`` caller or callback with the callback task's fields, the caller's ``card``),
    ``agent_state`` when the agent's state changes (``status``, ``since``, ``pause_reason``,
    ``registered``, ``call_id``, the ``event`` that changed it)."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["screen_pop", "agent_state"]
    agent: str
    call_id: str | None = None
    card: CardOut | None = None


class WaitingCaller(BaseModel):
    call_id: str
    caller: str = Field(description="masked")
    position: int
    priority: int
    waited: float = Field(description="seconds")
    kind: str = Field(description="caller, or callback: a booked callback holding its place")
    ringing: list[str] = Field(description="the agents being rung for it")


class WallboardQueue(BaseModel):
    name: str
    display_name: str
    waiting: int
    longest_wait: float = Field(description="seconds")
    callbacks: int
    staffed: int = Field(description="members logged in and not paused")
    available: int = Field(description="members who may be rung now")
    callers: list[WaitingCaller]


class WallboardAgent(BaseModel):
    number: str
    name: str
    status: str
    since: datetime
    seconds_in_status: float
    pause_reason: str | None
    registered: bool
    device_busy: bool
    call_id: str | None
    answered_today: int
    missed_in_row: int
    missed_total: int


class WallboardToday(BaseModel):
    since: datetime = Field(description="local midnight")
    total: CallFigures
    queues: dict[str, CallFigures]


class WallboardOut(BaseModel):
    at: datetime
    queues: list[WallboardQueue]
    agents: list[WallboardAgent]
    today: WallboardToday | None = Field(description="today's figures; null while the store is down")


async def acting_agent(req: ApiRequest[Any, Any]) -> tuple[str, QueueService]:
    """The agent number of the path and the service, once the caller may act for that agent: an
    agent only for themself, supervisors and admins for any agent."""
    number = req.path["number"]
    user = req.user
    if user.role not in FLOOR_MANAGERS:
        own = await req.ctx.get(AgentDirectory).for_user(user.user_id)
        if own.number != number:
            raise Forbidden("an agent may act only for their own number")
    return number, req.ctx.get(QueueService)


def state_json(s: AgentState) -> dict[str, Any]:
    return {"number": s.agent_id, "status": s.status, "since": s.since, "pause_reason": s.pause_reason,
            "pending_pause": s.pending_pause, "registered": s.registered, "device_busy": s.device_busy,
            "call_id": s.call_id, "wrap_up_until": s.wrap_up_until, "missed_in_row": s.missed_in_row,
            "missed_total": s.missed_total}


@router.get("/agents/{number}/state", summary="An agent's state", tags=("agents",), response=AgentStateOut,
            roles=AGENT_OR_FLOOR, responses=NO_AGENT)
async def get_state(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    number, service = await acting_agent(req)
    return state_json(service.agent(number))


@router.post("/agents/{number}/login", summary="Log an agent in", tags=("agents",), response=AgentStateOut,
             roles=AGENT_OR_FLOOR, responses=AGENT_STEP, operation_id="agent_login")
async def login(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    number, service = await acting_agent(req)
    if number not in service.agents:
        await service.refresh_agents()
    return state_json(service.login(number))


@router.post("/agents/{number}/logout", summary="Log an agent out", tags=("agents",), response=AgentStateOut,
             roles=AGENT_OR_FLOOR, responses=AGENT_STEP, operation_id="agent_logout")
async def logout(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    number, service = await acting_agent(req)
    return state_json(service.logout(number))


@router.post("/agents/{number}/pause", summary="Pause an agent with a reason", tags=("agents",), body=PauseIn,
             response=AgentStateOut, roles=AGENT_OR_FLOOR, responses=AGENT_STEP)
async def pause(req: ApiRequest[PauseIn, Any]) -> dict[str, Any]:
    number, service = await acting_agent(req)
    return state_json(service.pause(number, req.body.reason))


@router.post("/agents/{number}/resume", summary="Resume a paused agent", tags=("agents",), response=AgentStateOut,
             roles=AGENT_OR_FLOOR, responses=AGENT_STEP)
async def resume(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    number, service = await acting_agent(req)
    return state_json(service.resume(number))


@router.post("/agents/{number}/ready", summary="End an agent's wrap-up early", tags=("agents",),
             response=AgentStateOut, roles=AGENT_OR_FLOOR, responses=AGENT_STEP)
async def ready(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    number, service = await acting_agent(req)
    return state_json(service.ready(number))


@router.get("/agents/{number}/events", summary="An agent's live feed: screen pops and state changes (WebSocket)",
            tags=("agents",), websocket=True, response=AgentFeedMessage, roles=AGENT_OR_FLOOR, responses=NO_AGENT)
async def agent_events(req: ApiRequest[Any, Any]) -> web.WebSocketResponse:
    number, service = await acting_agent(req)
    service.agent(number)
    user = req.user

    def view(item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("kind") == "screen_pop":
            card = item.get("card")
            return {**item, "card": card.to_json(user) if isinstance(card, CallerCard) else None}
        return item

    return await relay(req, view, topic=agent_topic(number))


@router.get("/calls/{call_id}/screen-pop", summary="A call's screen pop (the caller's card)", tags=("agents",),
            response=CardOut, roles=AGENT_OR_FLOOR, responses={404: "no such call"})
async def screen_pop(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    call_id = req.path["call_id"]
    service = req.ctx.get(QueueService)
    waiter = service.waiting.get(call_id)
    card = waiter.card if waiter is not None else None
    if card is None:
        async with req.ctx.db.session() as s:
            call = (await s.execute(select(Call).where(Call.id == call_id))).scalar()
        if call is None:
            raise NotFound(f"no call {call_id}")
        card = await caller_card(req.ctx.db, call_id=call.id, caller_number=call.caller_number,
                                 attributes=dict(call.attributes or {}), tickets=req.ctx.get(TicketService))
    return card.to_json(req.user)


@router.get("/wallboard", summary="Queues and agents now: waiting callers, longest wait, agent states",
            tags=("supervision",), response=WallboardOut, roles=WALLBOARD_READERS)
async def get_wallboard(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    return await req.ctx.get(Wallboard).snapshot()


@router.get("/wallboard/stream", summary="The wallboard, live (WebSocket: a snapshot every second)",
            tags=("supervision",), websocket=True, response=WallboardOut, roles=WALLBOARD_READERS)
async def wallboard_stream(req: ApiRequest[Any, Any]) -> web.WebSocketResponse:
    board = req.ctx.get(Wallboard)
    first = True

    async def next_snapshot() -> dict[str, Any]:
        nonlocal first
        if not first:
            await asyncio.sleep(WALLBOARD_PERIOD)
        first = False
        return await board.snapshot()

    return await feed(req, next_snapshot)
