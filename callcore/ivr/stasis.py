"""The IVR as a Stasis call flow: answer, take the routing decision, run the menu in service.

The dialplan runs the routing AGI and passes its result as Stasis arguments
(``Stasis(callcore,inbound,route=${CALLCORE_ROUTE},priority=${CALLCORE_PRIORITY})``); they become
call attributes the menu's ``switch`` node reads. When the menu hands the call on (queue, voicemail,
callback) ``on_handoff`` gets the session and the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from callcore.ivr.engine import IvrEngine
from callcore.ivr.registry import MenuRegistry, UnknownMenu
from callcore.ivr.types import Handoffs, IvrOutcome, IvrSession, TicketLookup

log = logging.getLogger(__name__)

HandoffHandler = Callable[[Any, IvrOutcome], Awaitable[None]]
ROUTE_ARGS = {"route": str, "priority": int}


def route_attributes(args: list[str]) -> dict[str, Any]:
    """``["inbound", "route=afterhours", "priority=5"]`` -> ``{"route": "afterhours", "priority": 5}``.

    Empty values (the AGI did not run) are left out; the menu's ``switch`` then takes its default.
    """
    out: dict[str, Any] = {}
    for arg in args:
        key, sep, value = str(arg).partition("=")
        if sep and key in ROUTE_ARGS and value.strip():
            try:
                out[key] = ROUTE_ARGS[key](value.strip())
            except ValueError:
                log.warning("ignoring malformed Stasis argument %r", arg)
    return out


def ivr_flow(
    registry: MenuRegistry, *, sounds_dir: Path, lookup: TicketLookup | None = None,
    handoffs: Handoffs | None = None, on_handoff: HandoffHandler | None = None, menu: str = "main",
    fallback: Callable[[Any], Awaitable[None]] | None = None,
    resume: Callable[[Any], Awaitable[bool]] | None = None,
    apologize: Callable[[Any], Awaitable[None]] | None = None,
) -> Callable[[Any], Awaitable[None]]:
    """A ``Flow`` for ``StasisApp(flow=...)``. Raises nothing of its own; ``CallerHungUp`` propagates.

    A caller a restarted daemon took back goes to ``resume`` (a waiting caller keeps its place in the
    queue); otherwise they hear ``apologize`` and the menu from the top."""

    async def run(session: IvrSession) -> None:
        await session.answer()
        if getattr(session, "resumed", False):
            if resume is not None and await resume(session):
                return
            if apologize is not None:
                await apologize(session)
        args = session.attributes.get("args") or []
        for name, value in route_attributes(list(args)).items():
            session.set_attribute(name, value)
        try:
            active = registry.current(menu)
        except UnknownMenu:
            log.error("no valid IVR menu %r in service: call %s gets the fallback", menu, session.call_id)
            if fallback is not None:
                await fallback(session)
            else:
                await session.hangup("no_menu")
            return
        outcome = await IvrEngine(active, sounds_dir=sounds_dir, lookup=lookup, handoffs=handoffs).run(session)
        if outcome.how in ("queue", "voicemail", "callback"):
            if on_handoff is None:
                log.error("menu handed call %s to %s %s but nothing takes it", session.call_id, outcome.how,
                          outcome.target)
                await session.hangup(f"{outcome.how}_unavailable")
            else:
                await on_handoff(session, outcome)

    return run
