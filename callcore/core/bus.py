"""In-process publish/subscribe of live events (the API's event stream and ``callcore tail`` read it).

Everything published goes to every subscriber of the whole stream; an item published with a
``topic`` (one agent's screen pops and states: ``agent:1001``) goes only to that topic's subscribers
(and, unless ``private``, to the whole stream too), so a floor of agents' feeds is not woken by every
event of every call.
"""

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
        self._topics: dict[str, set[Subscription]] = {}
        self._maxsize = maxsize

    def publish(self, item: dict[str, Any], *, topic: str | None = None, private: bool = False) -> None:
        if topic is not None:
            for sub in self._topics.get(topic, ()):
                sub.put(item)
            if private:
                return
        for sub in self._subs:
            sub.put(item)

    @asynccontextmanager
    async def subscribe(self, topic: str | None = None) -> AsyncIterator[Subscription]:
        """The whole stream, or only what is published to ``topic``."""
        sub = Subscription(self._maxsize)
        subs = self._subs if topic is None else self._topics.setdefault(topic, set())
        subs.add(sub)
        try:
            yield sub
        finally:
            subs.discard(sub)
            if topic is not None and not subs:
                self._topics.pop(topic, None)
            if sub.dropped:
                log.warning("live subscriber fell behind and lost %d events", sub.dropped)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
