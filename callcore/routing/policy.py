"""Decides, before the menu, how a call is routed (T-15, T-5 priority, after-hours branch).

``refuse``: the number is blocked, or it called more than ``max_calls_per_hour`` times in the last
hour (abusive repeat calls). ``afterhours``: outside the main menu's business hours. Otherwise
``normal``. A caller with an open ticket gets ``repeat_priority``. The store being down never keeps a
citizen out: the decision falls back to ``normal`` and says why.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta

from sqlalchemy import Select, String, bindparam, exists, func, or_, select

from callcore.calls.models import Call
from callcore.core.privacy import mask_phone
from callcore.routing.hours import BusinessHours, is_open
from callcore.routing.models import BlockedNumber
from callcore.store.base import UTCDateTime, utcnow
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

REFUSE, NORMAL, AFTERHOURS = "refuse", "normal", "afterhours"


@dataclass(frozen=True, kw_only=True)
class RouteDecision:
    route: str
    priority: int = 0
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RoutingSettings:
    repeat_priority: int = 5
    max_calls_per_hour: int = 30
    query_timeout: float = 2.0


class RoutingPolicy:
    """``hours`` returns the business hours in force (from the menu in service), or None for always open."""

    def __init__(self, db: Database | None, hours: Callable[[], BusinessHours | None], *,
                 settings: RoutingSettings = RoutingSettings()) -> None:
        self.db = db
        self.hours = hours
        self.settings = settings

    async def decide(self, caller: str, *, at: datetime | None = None) -> RouteDecision:
        at = at or utcnow()
        priority, reasons = 0, []
        if caller and self.db is not None:
            try:
                async with asyncio.timeout(self.settings.query_timeout):
                    blocked, recent, open_ticket = await self._look_up(caller, at)
                if blocked is not None:
                    return RouteDecision(route=REFUSE, reason=f"blocked: {blocked}" if blocked else "blocked")
                if recent > self.settings.max_calls_per_hour:
                    return RouteDecision(route=REFUSE, reason=f"{recent} calls in the last hour")
                if open_ticket:
                    priority = self.settings.repeat_priority
                    reasons.append("open ticket")
            except OUTAGE_ERRORS as exc:
                log.warning("routing without the store (%s): %s treated as a normal caller", exc, mask_phone(caller))
                reasons.append("store unavailable")
        hours = self.hours()
        if hours is not None and not is_open(hours, at):
            return RouteDecision(route=AFTERHOURS, priority=priority, reason=", ".join(reasons + ["after hours"]))
        return RouteDecision(route=NORMAL, priority=priority, reason=", ".join(reasons))

    async def _look_up(self, caller: str, at: datetime) -> tuple[str | None, int, bool]:
        """The block on ``caller`` (its reason, "" without one; None when not blocked), the calls it made
        in the hour before ``at`` and whether it has an open ticket.

        One statement on a plain connection: routing runs for every call before the menu, and three
        ORM sessions (each a transaction with its own round trips) cost the daemon more CPU per call
        than the whole welcome flow.
        """
        assert self.db is not None
        params = {"caller": caller, "at": at, "since": at - timedelta(hours=1)}
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(_look_up_statement(), params)).one()
        return row[0], int(row[1] or 0), bool(row[2])


@functools.cache
def _look_up_statement() -> Select[Any]:
    """Built once with bound parameters: building and hashing the statement per call cost as much as running it."""
    from callcore.tickets.models import Ticket
    from callcore.tickets.workflow import OPEN

    caller, at, since = bindparam("caller", type_=String), bindparam("at", type_=UTCDateTime()), bindparam("since", type_=UTCDateTime())
    blocked = (
        select(func.coalesce(BlockedNumber.reason, ""))
        .where(BlockedNumber.number == caller, or_(BlockedNumber.until.is_(None), BlockedNumber.until > at))
        .limit(1)
        .scalar_subquery()
    )
    recent = (
        select(func.count()).select_from(Call)
        .where(Call.caller_number == caller, Call.arrived_at > since)
        .scalar_subquery()
    )
    open_ticket = exists().where(Ticket.phone == caller, Ticket.status.in_(sorted(OPEN)))
    return select(blocked, recent, open_ticket)
