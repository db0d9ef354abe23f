from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from callcore.routing.plugin import RoutingPlugin
from callcore.routing.policy import RoutingPolicy
from callcore.store.db import Database

from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async with api_client(context(db, tmp_path), [RoutingPlugin], authenticators=[AgentAuth()]) as c:
        yield c


async def test_block_list_unblock(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    r = await client.put("/api/v1/routing/blocked/13900001111", json={"reason": "骚扰电话"}, headers=ADMIN)
    assert r.status == 200, await r.text()
    assert (await r.json())["added_by"] == "admin token (admin-token)"
    assert (await RoutingPolicy(db, lambda: None).decide("13900001111")).route == "refuse"
    items = (await (await client.get("/api/v1/routing/blocked", headers=ADMIN)).json())["items"]
    assert [(i["number"], i["reason"]) for i in items] == [("139****1111", "骚扰电话")]
    assert (await client.delete("/api/v1/routing/blocked/13900001111", headers=ADMIN)).status == 204
    assert (await client.delete("/api/v1/routing/blocked/13900001111", headers=ADMIN)).status == 404
    assert (await RoutingPolicy(db, lambda: None).decide("13900001111")).route == "normal"


async def test_the_list_masks_numbers_and_unblocks_by_its_id(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    """A-2: the whole number never reaches the list, not even in a reason; its id unblocks it."""
    for number in ("13900002222", "13900003333"):
        r = await client.put(f"/api/v1/routing/blocked/{number}", json={"reason": f"冒用 {number} 报警"}, headers=ADMIN)
        assert r.status == 200 and number not in await r.text()
    r = await client.get("/api/v1/routing/blocked", headers=ADMIN)
    text = await r.text()
    assert "13900002222" not in text and "13900003333" not in text
    items = {i["number"]: i for i in (await r.json())["items"]}
    assert set(items) == {"139****2222", "139****3333"} and items["139****2222"]["reason"] == "冒用 139****2222 报警"
    entry = items["139****2222"]["id"]
    assert (await client.delete(f"/api/v1/routing/blocked/{entry}", headers=ADMIN)).status == 204
    assert (await RoutingPolicy(db, lambda: None).decide("13900002222")).route == "normal"
    assert (await RoutingPolicy(db, lambda: None).decide("13900003333")).route == "refuse"
    assert (await client.delete(f"/api/v1/routing/blocked/{entry}", headers=ADMIN)).status == 404
    # An id of another run (another key) names nothing; a malformed one is not a number either.
    stale = "b" + "0" * 32
    assert (await client.delete(f"/api/v1/routing/blocked/{stale}", headers=ADMIN)).status == 404
    assert (await client.delete("/api/v1/routing/blocked/bXYZ", headers=ADMIN)).status == 400
    assert (await client.delete(f"/api/v1/routing/blocked/{items['139****3333']['id']}", headers=AGENT)).status == 403
    assert (await RoutingPolicy(db, lambda: None).decide("13900003333")).route == "refuse"


async def test_rules(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/api/v1/routing/blocked", headers=AGENT)).status == 403
    r = await client.put("/api/v1/routing/blocked/abc", json={"reason": "x"}, headers=ADMIN)
    assert r.status == 400
