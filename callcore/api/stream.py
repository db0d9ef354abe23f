"""The live event stream (WebSocket) that ``callcore tail`` and the console read (C-4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from callcore.api.router import ApiRequest, Router, dump
from callcore.api.validation import InputModel, field_error
from callcore.core.identity import STREAM_WATCHERS
from callcore.core.privacy import mask_fields, mask_phone

router = Router("/api/v1")


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
    """A WebSocket that sends ``view(item)`` for every item published on the event bus, or on its
    ``topic`` (None: not sent), until the client closes; the one bus-to-socket loop of every feed."""
    ws = web.WebSocketResponse(heartbeat=20)
    if not ws.can_prepare(req.raw).ok:
        raise field_error("Upgrade", "header", "须以 WebSocket 方式连接", "a WebSocket upgrade is required")
    await ws.prepare(req.raw)
    bus = req.ctx.bus
    async with bus.subscribe(topic) as sub:
        reader = asyncio.ensure_future(ws.receive())
        try:
            while not ws.closed:
                getter = asyncio.ensure_future(sub.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    msg = reader.result()
                    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                        break
                    reader = asyncio.ensure_future(ws.receive())
                    continue
                out = view(getter.result())
                if out is not None:
                    await ws.send_str(json.dumps(dump(out), ensure_ascii=False))
        finally:
            reader.cancel()
            await ws.close()
    return ws
