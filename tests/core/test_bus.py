"""The live event bus: the whole stream, topics, and private items."""

from __future__ import annotations

import asyncio

from callcore.core.bus import EventBus


async def test_topics_reach_their_subscribers_and_private_items_stay_there() -> None:
    bus = EventBus()
    async with bus.subscribe() as everything, bus.subscribe("agent:1001") as mine, bus.subscribe("agent:1002") as other:
        bus.publish({"n": 1})
        bus.publish({"n": 2}, topic="agent:1001")
        bus.publish({"n": 3}, topic="agent:1001", private=True)
        assert [everything.queue.get_nowait()["n"] for _ in range(everything.queue.qsize())] == [1, 2]
        assert [mine.queue.get_nowait()["n"] for _ in range(mine.queue.qsize())] == [2, 3]
        assert other.queue.empty()
    assert bus.subscribers == 0


async def test_a_slow_subscriber_loses_the_oldest_and_never_blocks() -> None:
    bus = EventBus(maxsize=2)
    async with bus.subscribe() as sub:
        for n in range(5):
            bus.publish({"n": n})
        assert [await asyncio.wait_for(sub.get(), 1) for _ in range(2)] == [{"n": 3}, {"n": 4}]
        assert sub.dropped == 3
