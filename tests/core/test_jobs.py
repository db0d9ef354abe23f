"""The periodic-job helper: a failing run is logged and the job keeps its schedule."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.exc import OperationalError

from callcore.core.jobs import PeriodicJob

from tests.polling import until


class Job:
    def __init__(self, *results: int | BaseException) -> None:
        self.results = list(results)
        self.runs = 0

    async def run_once(self) -> int:
        self.runs += 1
        result = self.results.pop(0) if self.results else 0
        if isinstance(result, BaseException):
            raise result
        return result


async def test_tick_returns_what_the_job_did() -> None:
    assert await PeriodicJob(name="j", job=Job(3), interval=1).tick() == 3


async def test_an_outage_is_logged_as_such_and_the_next_tick_runs(caplog: pytest.LogCaptureFixture) -> None:
    job = Job(OperationalError("select", {}, ConnectionRefusedError()), 2)
    periodic = PeriodicJob(name="urges", job=job, interval=1)
    with caplog.at_level(logging.WARNING):
        assert await periodic.tick() == 0
    assert "urges: database unavailable" in caplog.text
    assert await periodic.tick() == 2


async def test_any_other_error_is_logged_with_its_traceback_and_does_not_stop_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = Job(ValueError("bad row"), ValueError("bad row"), 1)
    periodic = PeriodicJob(name="outbox", job=job, interval=0)
    task = asyncio.create_task(periodic.run())
    try:
        await until(lambda: job.runs >= 3, "three runs")
    finally:
        task.cancel()
    assert "outbox: run failed" in caplog.text and "ValueError: bad row" in caplog.text
