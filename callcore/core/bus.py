"""In-process publish/subscribe of live events (the API's event stream and ``callcore tail`` read it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


class Subscription:
    """A bounded queue; a subscriber that falls behind loses the oldest events, never blocks producers."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.dropped = 0

    def put(self, item: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()


class EventBus:
    def __init__(self, *, maxsize: int = 10_000) -> None:
        self._subs: set[Subscription] = set()
        self._maxsize = maxsize

    def publish(self, item: dict[str, Any]) -> None:
        for sub in self._subs:
            sub.put(item)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        sub = Subscription(self._maxsize)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            if sub.dropped:
                log.warning("live subscriber fell behind and lost %d events", sub.dropped)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
