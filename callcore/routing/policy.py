"""Decides, before the menu, how a call is routed (T-15, T-5 priority, after-hours branch).

``refuse``: the number is blocked, or it called more than ``max_calls_per_hour`` times in the last
hour (abusive repeat calls). ``afterhours``: outside the main menu's business hours. Otherwise
``normal``. A caller with an open ticket gets ``repeat_priority``. The store being down never keeps a
citizen out: the decision falls back to ``normal`` and says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from callcore.calls.models import Call
from callcore.ivr.format import BusinessHours
from callcore.ivr.hours import is_open
from callcore.routing.models import BlockedNumber
from callcore.store.base import utcnow
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
                    blocked = await self._blocked(caller, at)
                    if blocked is not None:
                        return RouteDecision(route=REFUSE, reason=f"blocked: {blocked}" if blocked else "blocked")
                    recent = await self._recent_calls(caller, at)
                    if recent > self.settings.max_calls_per_hour:
                        return RouteDecision(route=REFUSE, reason=f"{recent} calls in the last hour")
                    if await self._has_open_ticket(caller):
                        priority = self.settings.repeat_priority
                        reasons.append("open ticket")
            except OUTAGE_ERRORS as exc:
                log.warning("routing without the store (%s): %s treated as a normal caller", exc, caller)
                reasons.append("store unavailable")
        hours = self.hours()
        if hours is not None and not is_open(hours, at):
            return RouteDecision(route=AFTERHOURS, priority=priority, reason=", ".join(reasons + ["after hours"]))
        return RouteDecision(route=NORMAL, priority=priority, reason=", ".join(reasons))

    async def _blocked(self, caller: str, at: datetime) -> str | None:
        assert self.db is not None
        async with self.db.session() as s:
            row = (await s.execute(
                select(BlockedNumber).where(BlockedNumber.number == caller,
                                            or_(BlockedNumber.until.is_(None), BlockedNumber.until > at))
            )).scalar_one_or_none()
        return None if row is None else row.reason

    async def _recent_calls(self, caller: str, at: datetime) -> int:
        assert self.db is not None
        async with self.db.session() as s:
            return int((await s.execute(
                select(func.count()).select_from(Call).where(Call.caller_number == caller,
                                                             Call.arrived_at > at - timedelta(hours=1))
            )).scalar_one())

    async def _has_open_ticket(self, caller: str) -> bool:
        assert self.db is not None
        from callcore.tickets.models import Ticket
        from callcore.tickets.workflow import OPEN

        async with self.db.session() as s:
            found = (await s.execute(
                select(Ticket.id).where(Ticket.phone == caller, Ticket.status.in_(sorted(OPEN))).limit(1)
            )).first()
        return found is not None


async def block(db: Database, number: str, *, reason: str, by: str, until: datetime | None = None) -> None:
    """Add or update a blocked number."""
    async with db.session() as s:
        row = await s.get(BlockedNumber, number)
        if row is None:
            s.add(BlockedNumber(number=number, reason=reason, added_by=by, until=until))
        else:
            row.reason, row.added_by, row.until = reason, by, until


async def unblock(db: Database, number: str) -> bool:
    async with db.session() as s:
        row = await s.get(BlockedNumber, number)
        if row is None:
            return False
        await s.delete(row)
        return True
