from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
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
    assert (detail["outcome"], detail["loss_stage"]) == ("lost_in_ivr", "ivr")
    assert {k: detail[k] for k in ("queue", "agent", "position", "waited", "queue_entered_at", "agent_answered_at",
                                   "talk_ended_at", "wrap_up_seconds")} == {
        "queue": None, "agent": None, "position": None, "waited": None, "queue_entered_at": None,
        "agent_answered_at": None, "talk_ended_at": None, "wrap_up_seconds": 0.0}
    r = await c.get("/api/v1/calls", params={"caller": "13800000002"}, headers=AUTH)
    active = (await r.json())["items"][0]
    assert (active["status"], active["outcome"], active["loss_stage"], active["wrap_up_seconds"]) == ("active", None, None, None)


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


async def test_an_answered_call_shows_its_outcome_and_the_figures_facts(client: tuple[TestClient, CallJournal]) -> None:  # type: ignore[type-arg]
    c, journal = client
    t0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    cid = journal.new_call_id()
    for seconds, type_, data in [
        (0, ev.ARRIVED, {"channel_id": "ch-q", "caller_number": "13800000009"}),
        (9, ev.QUEUE_ENTERED, {"queue": "general", "position": 2}),
        (20.5, ev.AGENT_ANSWERED, {"queue": "general", "agent": "1001"}),
        (20.5, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_ANSWERED, "position": 1}),
        (200, ev.TALK_ENDED, {"agent": "1001", "by": "agent", "wrap_up": 15}), (200, ev.ENDED, {"by": "agent"}),
    ]:
        journal.emit(cid, type_, data, at=t0 + timedelta(seconds=seconds))
    task = asyncio.create_task(journal.run())
    await asyncio.wait_for(journal.wait_idle(), 10)
    task.cancel()
    detail = await (await c.get(f"/api/v1/calls/{cid}", headers=AUTH)).json()
    assert {k: detail[k] for k in ("outcome", "loss_stage", "queue", "agent", "position", "waited", "queue_entered_at",
                                   "agent_answered_at", "talk_ended_at", "wrap_up_seconds")} == {
        "outcome": "answered", "loss_stage": None, "queue": "general", "agent": "1001", "position": 1, "waited": 11.5,
        "queue_entered_at": "2026-03-02T02:00:09.000Z", "agent_answered_at": "2026-03-02T02:00:20.500Z",
        "talk_ended_at": "2026-03-02T02:03:20.000Z", "wrap_up_seconds": 15.0}
