from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcore.api import routing
from callcore.api.app import create_app
from callcore.api.auth import AuthChain, Principal, StaticTokenAuth
from callcore.api.services import Services
from callcore.bus import EventBus
from callcore.calls.journal import CallJournal
from callcore.config import ApiSettings, Settings
from callcore.routing.policy import RoutingPolicy
from callcore.store.db import Database

TOKEN = "test-admin-token-123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
AGENT = {"Authorization": "Bearer agent-token"}


class AgentAuth:
    async def authenticate(self, token: str) -> Principal | None:
        return Principal(user_id="u7", name="接线员", role="agent") if token == "agent-token" else None


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    settings = replace(Settings(run_dir=tmp_path), api=ApiSettings(token=TOKEN))
    services = Services(settings=settings, db=db, bus=EventBus(), journal=CallJournal(db, tmp_path / "spool.jsonl"))
    app = create_app(services, routers=[routing.router], auth=AuthChain(StaticTokenAuth(TOKEN), AgentAuth()))
    async with TestClient(TestServer(app)) as c:
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
