"""Waiting in journeys on what the system says, with a deadline, never a fixed sleep.

A journey waits for a condition it can read: the store (through the API or a query), the live event
stream, Asterisk's own channel list over ARI or its log, a file Asterisk writes, a SIPp process that
exits. ``eventually`` (tests/polling.py) polls a check until it holds and fails naming what never came; ``EventStream``
follows the daemon's live events (``/events/stream``), for the moment something happens rather than
the moment it is stored; ``parked`` reads which calls Asterisk holds in the Stasis app, and
``asterisk_log`` what Asterisk has logged since a point.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from callcore.ari.client import AriClient
from callcore.ari.models import Channel
from harness.stack import Stack
from tests.polling import eventually


async def timeline(stack: Stack, call_id: str) -> list[str]:
    """The types of the call's stored events, in timeline order."""
    return [e["type"] for e in (await stack.call_detail(call_id))["timeline"]]


async def stored_detail(stack: Stack, call_id: str, ready: Callable[[dict[str, Any]], bool], what: str, *,
                        timeout: float = 20) -> dict[str, Any]:
    """The call as stored (``/calls/{id}``) once ``ready`` holds for it."""
    async def check() -> dict[str, Any] | None:
        detail = await stack.call_detail(call_id)
        return detail if ready(detail) else None
    return await eventually(check, what, timeout=timeout,
                            detail=lambda: stack.daemon_log()[-3000:])


class EventStream:
    """The daemon's live call events for one caller (``GET /events/stream?caller=``), read as they come."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def next(self, type_: str, *, timeout: float = 20, **data: Any) -> dict[str, Any]:
        """The next event of ``type_`` whose data has the ``data`` items; fails at the deadline or if the
        stream closes first."""
        try:
            async with asyncio.timeout(timeout):
                async for msg in self.ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    event: dict[str, Any] = json.loads(msg.data)
                    self.seen.append(event)
                    if event["type"] == type_ and all(event["data"].get(k) == v for k, v in data.items()):
                        return event
        except TimeoutError:
            pass
        raise AssertionError(f"no {type_} {data} on the event stream in {timeout} s; seen: "
                             f"{[(e['type'], e['data']) for e in self.seen]}")


@asynccontextmanager
async def event_stream(stack: Stack, caller: str) -> AsyncIterator[EventStream]:
    """The live events of ``caller``'s calls from now on, while the block runs (the daemon must be up)."""
    headers = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.ws_connect(f"{stack.api}/events/stream", params={"caller": caller}) as ws:
            yield EventStream(ws)


async def parked(stack: Stack, caller: str) -> list[Channel]:
    """The caller's channels Asterisk holds in the daemon's Stasis app now, from its own channel list (ARI)."""
    ast = stack.settings.asterisk
    ari = AriClient(ast.ari_url, ast.ari_user, ast.ari_password, ast.app)
    try:
        channels = await ari.list_channels()
    finally:
        await ari.close()
    return [c for c in channels if c.caller_number == caller and c.in_stasis_app(ast.app)]


def log_size(stack: Stack) -> int:
    """Where Asterisk's log (``log/messages``) ends now: pass it to ``asterisk_log`` later."""
    return (stack.run_dir / "log" / "messages").stat().st_size


def asterisk_log(stack: Stack, since: int) -> str:
    """What Asterisk has logged since ``since`` (``log_size``)."""
    with open(stack.run_dir / "log" / "messages", "rb") as fh:
        fh.seek(since)
        return fh.read().decode("utf-8", "replace")
