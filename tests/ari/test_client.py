from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callcore.ari.client import AriClient
from callcore.ari.errors import AriNotFound, AriUnavailable
from tests.ari.fake_ari import FakeAri


@pytest.fixture
async def fake() -> AsyncIterator[FakeAri]:
    server = FakeAri()
    await server.start()
    yield server
    await server.stop()


def client_for(fake: FakeAri, **kw: Any) -> AriClient:
    return AriClient(f"http://127.0.0.1:{fake.port}/ari", "callcore", "s3cret-pass", "callcore", backoff_cap=0.2, **kw)


async def test_rest_errors_are_typed(fake: FakeAri) -> None:
    ari = client_for(fake)
    fake.live["c1"] = {"id": "c1", "state": "Up", "caller": {"number": "13800000000", "name": "张三"},
                       "dialplan": {"context": "from-trunk", "exten": "96881", "app_name": "Stasis", "app_data": "callcore,inbound"}}
    try:
        await ari.answer("c1")
        with pytest.raises(AriNotFound):
            await ari.answer("gone")
        [channel] = await ari.list_channels()
        assert channel.caller_name == "张三" and channel.in_stasis_app("callcore") and not channel.in_stasis_app("other")
        assert fake.auth[0].startswith("Basic ")
    finally:
        await ari.close()


async def test_unreachable_asterisk_is_ari_unavailable() -> None:
    ari = AriClient("http://127.0.0.1:9/ari", "u", "p", "callcore", timeout=1.0)
    try:
        with pytest.raises(AriUnavailable):
            await ari.list_channels()
    finally:
        await ari.close()


async def test_requests_share_a_bounded_pool(fake: FakeAri) -> None:
    ari = client_for(fake, pool_size=4)
    try:
        await asyncio.gather(*(ari.request("GET", "slow") for _ in range(40)))
        assert fake.max_peers <= 4
    finally:
        await ari.close()


async def test_events_reconnect_and_call_the_connect_hook_each_time(fake: FakeAri) -> None:
    ari = client_for(fake)
    seen: list[dict[str, Any]] = []
    hooks = 0

    async def on_connect() -> None:
        nonlocal hooks
        hooks += 1

    reader = asyncio.create_task(ari.run_events(seen.append, on_connect))
    try:
        assert await ari.wait_connected(5)
        await fake.send({"type": "StasisStart", "channel": {"id": "c1"}})
        await fake.drop_sockets()  # Asterisk restarts
        for _ in range(100):
            if fake.connects == 2 and ari.connected:
                break
            await asyncio.sleep(0.02)
        assert fake.connects == 2 and ari.reconnects == 1
        await fake.send({"type": "StasisEnd", "channel": {"id": "c1"}})
        for _ in range(100):
            if len(seen) == 2 and hooks == 2:
                break
            await asyncio.sleep(0.02)
        assert [e["type"] for e in seen] == ["StasisStart", "StasisEnd"]
        assert hooks == 2
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await ari.close()


async def test_events_retry_while_asterisk_is_down_then_connect() -> None:
    from harness.stack import free_port

    port = free_port()
    ari = AriClient(f"http://127.0.0.1:{port}/ari", "callcore", "pw", "callcore", backoff_cap=0.1)
    reader = asyncio.create_task(ari.run_events(lambda e: None))
    server = FakeAri()
    try:
        await asyncio.sleep(0.3)
        assert not ari.connected
        await server.start(port)
        assert await ari.wait_connected(5)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await ari.close()
        await server.stop()
