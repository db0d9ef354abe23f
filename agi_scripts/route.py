"""``AGI(agi://HOST:PORT/route)``: routing before the menu, for the Stasis path and the dialplan fallback.

Sets on the channel:
  CALLCORE_ROUTE=refuse|normal|afterhours   what to do with the call
  CALLCORE_PRIORITY=N                       queue priority (0 normal; repeat caller with an open ticket)
  CALLCORE_ROUTE_REASON=TEXT                why, for the timeline and the logs
The dialplan treats a missing CALLCORE_ROUTE (AGI failed or timed out) as ``normal``.
"""

from __future__ import annotations

import logging

from callcore.agi.server import AgiRequest
from callcore.routing.policy import RoutingPolicy

log = logging.getLogger(__name__)


class RouteScript:
    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy

    async def __call__(self, request: AgiRequest) -> None:
        caller = request.caller_number
        decision = await self.policy.decide(caller)
        await request.set_variable("CALLCORE_ROUTE", decision.route)
        await request.set_variable("CALLCORE_PRIORITY", str(decision.priority))
        await request.set_variable("CALLCORE_ROUTE_REASON", decision.reason)
        log.info("route %s: %s priority %s (%s)", caller or "anonymous", decision.route, decision.priority,
                 decision.reason or "-")
