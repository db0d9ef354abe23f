"""The live event stream (WebSocket) that ``callcore tail`` and the console read (C-4), and the one
socket loop of every live feed, which closes a feed when the login it opened with ends (issue 11)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from callcore.api.router import AUTH_KEY, ApiRequest, Router, bearer_token, dump
from callcore.api.validation import InputModel, field_error
from callcore.core.identity import STREAM_WATCHERS
from callcore.core.privacy import mask_fields, mask_phone
from callcore.core.sockets import SESSION_ENDED, SessionSockets
from callcore.store.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)
router = Router("/api/v1")
# How often an open feed authenticates its login again: an expiry is noticed within this (a logout
# or an admin's revocation closes the feed at once, through ``SessionSockets``).
RECHECK_SECONDS = 60.0
# The credential a feed opened with when it is not the request's bearer token: the login behind a
# console socket ticket (``callcore.console``), which the feed is held under and re-checks.
CREDENTIAL = web.RequestKey("callcore.credential", str)


class StreamQuery(InputModel):
    call_id: str | None = Field(default=None, max_length=64)
    caller: str | None = Field(default=None, max_length=40)
    type: str | None = Field(default=None, max_length=200, description="comma-separated event types")


class StreamItem(BaseModel):
    """One item of the event bus as the stream sends it: ``call_event`` (a call's timeline event: ``id``,
    ``call_id``, ``seq``, ``at``, ``type``, ``data``, the ``caller``), or another capability's kind
    (``asterisk``: an AMI event). Every number in it masked."""

    model_config = ConfigDict(extra="allow")
    kind: str
    call_id: str | None = None
    caller: str | None = Field(default=None, description="masked")
    type: str | None = None
    data: dict[str, Any] | None = Field(default=None, description="numbers masked")


def matches(item: dict[str, Any], q: StreamQuery) -> bool:
    if q.call_id and item.get("call_id") != q.call_id:
        return False
    if q.caller and item.get("caller") != q.caller:
        return False
    if q.type and item.get("type") not in set(q.type.split(",")):
        return False
    return True


Relay = Callable[[dict[str, Any]], dict[str, Any] | None]
# The next item a feed sends (None: nothing this time); it may wait for one.
Produce = Callable[[], Awaitable[dict[str, Any] | None]]


# Every call's events, as they happen: the floor's (and ``callcore tail``'s, with the admin token) only. Agents
# have their own feed, the wallboard its figures; the ``caller`` filter (a whole number) would otherwise
# let anyone learn whether a given citizen is calling right now.
@router.get("/events/stream", summary="Stream live call events over a WebSocket", tags=("ops",), query=StreamQuery,
            websocket=True, response=StreamItem, roles=STREAM_WATCHERS,
            responses={403: "only supervisors and admins watch every call"})
async def stream(req: ApiRequest[Any, StreamQuery]) -> web.WebSocketResponse:
    def ops_view(item: dict[str, Any]) -> dict[str, Any] | None:
        if not matches(item, req.query):
            return None
        # Ops read this stream: every number leaves the daemon masked.
        return {**item, "caller": mask_phone(item.get("caller")), "data": mask_fields(item.get("data") or {})}

    return await relay(req, ops_view)


async def relay(req: ApiRequest[Any, Any], view: Relay, *, topic: str | None = None) -> web.WebSocketResponse:
    """A feed that sends ``view(item)`` for every item published on the event bus, or on its ``topic``
    (None: not sent): the one bus-to-socket loop of every feed."""
    async with req.ctx.bus.subscribe(topic) as sub:

        async def next_item() -> dict[str, Any] | None:
            return view(await sub.get())

        return await feed(req, next_item)


async def feed(req: ApiRequest[Any, Any], produce: Produce) -> web.WebSocketResponse:
    """A WebSocket that sends each item ``produce`` returns (None: nothing to send), until the client
    closes it or the login it opened with ends: then it closes with ``SESSION_ENDED``. A feed is
    authenticated once, when it opens; ending a login (``SessionSockets``) closes its feeds at once,
    and each feed authenticates its login again every ``RECHECK_SECONDS`` to notice an expiry."""
    ws = web.WebSocketResponse(heartbeat=20)
    if not ws.can_prepare(req.raw).ok:
        raise field_error("Upgrade", "header", "须以 WebSocket 方式连接", "a WebSocket upgrade is required")
    await ws.prepare(req.raw)
    credential = req.raw.get(CREDENTIAL) or bearer_token(req.raw)
    loop = asyncio.get_running_loop()
    with _held(req, credential) as ended:
        reader = asyncio.ensure_future(ws.receive())
        ending = asyncio.ensure_future(ended.wait())
        getter: asyncio.Future[dict[str, Any] | None] | None = None
        recheck_at = loop.time() + RECHECK_SECONDS
        try:
            while not ws.closed:
                if getter is None:
                    getter = asyncio.ensure_future(produce())
                waiting: set[asyncio.Future[Any]] = {getter, reader, ending}
                done, _ = await asyncio.wait(waiting, timeout=max(0.0, recheck_at - loop.time()),
                                             return_when=asyncio.FIRST_COMPLETED)
                if ending in done:
                    await ws.close(code=SESSION_ENDED, message=b"session ended")
                    break
                if reader in done:
                    msg = reader.result()
                    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                        break
                    reader = asyncio.ensure_future(ws.receive())
                if getter in done:
                    out, getter = getter.result(), None
                    if out is not None:
                        await ws.send_str(json.dumps(dump(out), ensure_ascii=False))
                if credential is not None and loop.time() >= recheck_at:
                    if not await _still_valid(req, credential):
                        await ws.close(code=SESSION_ENDED, message=b"session ended")
                        break
                    recheck_at = loop.time() + RECHECK_SECONDS
        finally:
            for pending in (reader, ending, getter):
                if pending is not None:
                    pending.cancel()
            await ws.close()
    return ws


def _held(req: ApiRequest[Any, Any], credential: str | None) -> AbstractContextManager[asyncio.Event]:
    """The feed held under its login while it is open: an event set when the login ends. Without the
    accounts capability (or a credential) there is no login to end: an event nothing sets."""
    if credential is None or not req.ctx.has(SessionSockets):
        return nullcontext(asyncio.Event())
    return req.ctx.get(SessionSockets).hold(user_id=req.user.user_id, credential=credential)


async def _still_valid(req: ApiRequest[Any, Any], credential: str) -> bool:
    """Whether the feed's login still authenticates as its user; a database outage is not an end
    (every console would go back to its login page): the next check asks again."""
    try:
        now = await req.raw.app[AUTH_KEY].authenticate(credential)
    except OUTAGE_ERRORS as exc:
        log.warning("feed of %s: login not re-checked, database unavailable: %s", req.user.user_id, exc)
        return True
    return now is not None and now.user_id == req.user.user_id
