"""FastAGI scripts the shipped dialplan calls (``AGI(agi://HOST:PORT/NAME)``); ``handlers()`` is the table."""

from __future__ import annotations

from callcore.agi.server import AgiHandler
from callcore.routing.policy import RoutingPolicy


def handlers(policy: RoutingPolicy) -> dict[str, AgiHandler]:
    """The dispatch table for ``FastAgiServer``: script path -> async handler."""
    from agi_scripts.route import RouteScript

    return {"route": RouteScript(policy)}
