"""What a supervisors' wallboard shows (the supervisor feed): per queue the waiting callers and the
longest wait, per agent the state and the time in it, and today's figures per queue and in total.

The live part comes from the dispatcher's memory at each call; today's figures are computed in the
database (``queries.call_figures``) at most every ``FIGURES_TTL`` seconds, however many wallboards
are open: a wallboard refreshing every second must not run the figures' queries every second.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from callcore.core.privacy import mask_phone
from callcore.queues.agents import CHINA
from callcore.queues.queries import call_figures
from callcore.queues.services import QueueService
from callcore.store.db import OUTAGE_ERRORS, Database

FIGURES_TTL = 10.0


class Wallboard:
    def __init__(self, service: QueueService, db: Database) -> None:
        self.service = service
        self.db = db
        self._figures: dict[str, Any] | None = None
        self._figures_at = 0.0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> dict[str, Any]:
        """The wallboard now; callers' numbers masked (a wallboard is seen by the whole floor)."""
        snap = self.service.snapshot()
        for q in snap["queues"]:
            for c in q["callers"]:
                c["caller"] = mask_phone(c["caller"])
        snap["today"] = await self.today()
        return snap

    async def today(self) -> dict[str, Any] | None:
        """Today's figures (since local midnight) in total and per queue; None while the store is
        down (the live part still shows)."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            if self._figures is None or loop.time() - self._figures_at > FIGURES_TTL:
                now = self.service.clock()
                midnight = now.astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
                until = now + timedelta(milliseconds=1)
                try:
                    total = await call_figures(self.db, midnight, until, "total", now=now)
                    by_queue = await call_figures(self.db, midnight, until, "queue", now=now)
                except OUTAGE_ERRORS:
                    return None
                self._figures = {"since": midnight, "total": _plain(asdict(total[0])),
                                 "queues": {f.key: _plain(asdict(f)) for f in by_queue if f.key is not None}}
                self._figures_at = loop.time()
            return self._figures


def _plain(value: Any) -> Any:
    """JSON keys are text: the service levels are keyed by their seconds."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
