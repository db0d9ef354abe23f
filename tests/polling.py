"""Waiting in tests without sleeping and hoping: poll a condition, bounded, and fail naming it. The one
poller of the suite: the unit tests' ``until``, the journeys' and the console tests' ``eventually``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")
# Between two reads of a polled condition: often enough for a journey, light on the shared machine.
EVERY = 0.2


@overload
async def eventually(check: Callable[[], Awaitable[T | None]], what: str, *, timeout: float = 20,
                     detail: Callable[[], object] | None = None, every: float = EVERY) -> T: ...


@overload
async def eventually(check: Callable[[], T | None], what: str, *, timeout: float = 20,
                     detail: Callable[[], object] | None = None, every: float = EVERY) -> T: ...


async def eventually(check: Callable[[], Any], what: str, *, timeout: float = 20,
                     detail: Callable[[], object] | None = None, every: float = EVERY) -> Any:
    """Polls ``check`` (plain or async) until it returns something truthy, and returns that.

    At the deadline the test fails naming ``what``, the last value and ``detail()`` (a daemon log's
    tail, a timeline): a journey that waits for the wrong thing says so instead of hanging.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = check()
        value = await got if inspect.isawaitable(got) else got
        if value:
            return value
        if loop.time() >= deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {value!r}{extra}")
        await asyncio.sleep(every)


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Waits (bounded) for a plain ``condition`` on in-process state, polled every 2 ms (a fake's queue,
    a task's flag): ``eventually`` at a unit test's pace."""
    await eventually(condition, what, timeout=timeout, every=0.002)
