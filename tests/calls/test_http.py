from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from callcore.api.router import CONTEXT
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.calls.plugin import CallsPlugin
from callcore.store.db import Database

from tests.apps import ADMIN as AUTH
from tests.apps import api_client, context


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TestClient, CallJournal]]:  # type: ignore[type-arg]
    ctx = context(db, tmp_path)

    async def up() -> bool:
        return True

    ctx.health.update(database=db.ping, ari=up)
    async with api_client(ctx, [CallsPlugin]) as c:
        yield c, ctx.get(CallJournal)


async def _calls(journal: CallJournal, *callers: str) -> list[str]:
    ids = []
    for number in callers:
        cid = journal.new_call_id()
        journal.emit(cid, ev.ARRIVED, {"channel_id": f"ch-{number}", "caller_number": number, "dialed": "96881"})
        ids.append(cid)
    journal.emit(ids[0], ev.ENDED, {"by": "caller", "cause": 16})
    task = asyncio.create_task(journal.run())
    await asyncio.wait_for(journal.wait_idle(), 10)
    task.cancel()
    return ids


async def test_list_filters_pages_and_masks(client: tuple[TestClient, CallJournal]) -> None:  # type: ignore[type-arg]
    c, journal = client
    ids = await _calls(journal, "13800000001", "13800000002", "13800000002")
    r = await c.get("/api/v1/calls", params={"caller": "13800000002", "limit": "1"}, headers=AUTH)
    body = await r.json()
    assert r.status == 200 and body["total"] == 2 and len(body["items"]) == 1
    assert body["items"][0]["caller_number"] == "138****0002"
    r = await c.get("/api/v1/calls", params={"status": "ended"}, headers=AUTH)
    assert [i["id"] for i in (await r.json())["items"]] == [ids[0]]
    r = await c.get(f"/api/v1/calls/{ids[0]}", headers=AUTH)
    detail = await r.json()
    assert detail["caller_number"] == "13800000001" and [e["type"] for e in detail["timeline"]] == ["arrived", "ended"]
    assert detail["loss_stage"] == "ivr"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"status": "lost"}, "status"), ({"since": "yesterday"}, "since"), ({"caller": "abc"}, "caller"), ({"bogus": "1"}, "bogus")],
)
async def test_bad_query_is_400_naming_the_field(client: tuple[TestClient, CallJournal], params: dict[str, str], field: str) -> None:  # type: ignore[type-arg]
    c, _ = client
    r = await c.get("/api/v1/calls", params=params, headers=AUTH)
    body = await r.json()
    assert r.status == 400 and body["error_id"] == "invalid_input" and body["message"].startswith(field)


async def test_auth_is_required_except_health_and_openapi(client: tuple[TestClient, CallJournal]) -> None:  # type: ignore[type-arg]
    c, _ = client
    assert (await c.get("/api/v1/calls")).status == 401
    assert (await c.get("/api/v1/calls", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await c.get("/api/v1/calls/nope", headers=AUTH)).status == 404
    health = await c.get("/api/v1/health")
    assert health.status == 200 and (await health.json())["components"] == {"database": True, "ari": True}
    spec = await (await c.get("/api/v1/openapi.json")).json()
    assert spec["paths"]["/api/v1/calls"]["get"]["security"] == [{"bearer": []}]
    assert "/api/v1/calls/{call_id}" in spec["paths"]


async def test_health_is_503_when_a_component_is_down(client: tuple[TestClient, CallJournal]) -> None:  # type: ignore[type-arg]
    c, _ = client
    ctx = c.server.app[CONTEXT]

    async def down() -> bool:
        return False

    ctx.health["ami"] = down
    r = await c.get("/api/v1/health")
    assert r.status == 503 and (await r.json())["status"] == "degraded"
