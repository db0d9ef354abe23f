"""Satisfaction callback sampling (W-12): a configurable share of closed tickets is marked for a
callback (回访); the callback itself (click-to-dial or a keypad survey call) belongs to the
telephony side, which records the result with the ``rate`` action.

The choice is a hash of the ticket id, not a random draw, so every daemon running the sampler
picks the same tickets and a ticket is never re-drawn on the next run.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from callcore.core.errors import DomainError
from callcore.core.identity import SYSTEM_PRINCIPAL
from callcore.store.base import utcnow
from callcore.tickets.models import Ticket
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)


def chosen(ticket_id: str, rate: float) -> bool:
    digest = int.from_bytes(hashlib.sha256(ticket_id.encode()).digest()[:4], "big")
    return digest < rate * 2**32


class VisitSampler:
    def __init__(self, service: TicketService, *, lookback: timedelta = timedelta(days=7)) -> None:
        self.service = service
        self.lookback = lookback

    async def run_once(self, now: datetime | None = None) -> int:
        """Marks the chosen tickets closed in the look-back window; returns how many this run marked."""
        now = now or utcnow()
        rate = self.service.settings.visit_sample_rate
        async with self.service.db.session() as s:
            ids = list(await s.scalars(select(Ticket.id).where(
                Ticket.status == "closed", Ticket.visit.is_(None), Ticket.closed_at >= now - self.lookback)))
        marked = 0
        for tid in ids:
            if not chosen(tid, rate):
                continue
            try:
                await self.service.act(SYSTEM_PRINCIPAL, tid, "sample", note="系统抽样回访", now=now)
                marked += 1
            except DomainError as exc:  # another daemon sampled it, or it changed meanwhile
                log.debug("sampling %s skipped: %s", tid, exc.message)
        return marked
