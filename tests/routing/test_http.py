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
    assert [(i["number"], i["reason"]) for i in items] == [("13900001111", "骚扰电话")]
    assert (await client.delete("/api/v1/routing/blocked/13900001111", headers=ADMIN)).status == 204
    assert (await client.delete("/api/v1/routing/blocked/13900001111", headers=ADMIN)).status == 404
    assert (await RoutingPolicy(db, lambda: None).decide("13900001111")).route == "normal"


async def test_rules(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/api/v1/routing/blocked", headers=AGENT)).status == 403
    r = await client.put("/api/v1/routing/blocked/abc", json={"reason": "x"}, headers=ADMIN)
    assert r.status == 400
