"""Waiting in tests without sleeping and hoping: poll a condition, bounded, and fail naming it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Waits (bounded) for ``condition``; fails the test naming ``what`` if it never holds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.002)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
