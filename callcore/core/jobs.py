"""The one periodic-job helper: run a job every N seconds for as long as the daemon runs.

A job is anything with ``async run_once() -> int`` (what it did, for the log). A database outage
is logged as such and retried at the next tick; any other error is logged with its traceback and
retried too, so one bad row never stops a job for good.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from callcore.store.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)


class Job(Protocol):
    async def run_once(self) -> int: ...


@dataclass(frozen=True, kw_only=True)
class PeriodicJob:
    name: str
    job: Job
    interval: float

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.interval)

    async def tick(self) -> int:
        """One run, errors logged and swallowed; returns what the job did (0 after an error)."""
        try:
            return await self.job.run_once()
        except OUTAGE_ERRORS as exc:
            log.warning("%s: database unavailable: %s", self.name, exc)
        except Exception:  # noqa: BLE001 - the next tick retries
            log.exception("%s: run failed", self.name)
        return 0
