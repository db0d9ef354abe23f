"""The queues plugin's own API as the daemon serves it: agents' controls (an agent acts only for
their own number), the agent's live feed with its screen pops, a call's screen pop by id, and the
wallboard with masked numbers and today's figures."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from callcore.accounts.models import User
from callcore.accounts.plugin import AccountsPlugin
from callcore.calls.models import Call
from callcore.calls.plugin import CallsPlugin
from callcore.queues.card import CallerCard
from callcore.queues.directory import AgentDirectory
from callcore.queues.plugin import QueuesPlugin
from callcore.queues.services import QueueService
from callcore.queues.waiting import WaitingCaller
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context

QUEUES = """queues:
  - name: general
    display_name: 综合服务
    members: ["2001", "2002"]
"""


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TestClient, QueueService]]:  # type: ignore[type-arg]
    (tmp_path / "queues.yaml").write_text(QUEUES, encoding="utf-8")
    ctx = context(db, tmp_path, queues_file=tmp_path / "queues.yaml")
    async with db.session() as s:
        s.add(User(id="u7", username="agent7", name="接线员", role="agent", password_hash="x"))
        await s.commit()
    async with api_client(ctx, [CallsPlugin, AccountsPlugin, TicketsPlugin, QueuesPlugin],
                          authenticators=[AgentAuth()]) as client:
        directory = ctx.get(AgentDirectory)
        await directory.create("2001", "王芳", user_id="u7")
        await directory.create("2002", "李明")
        service = ctx.get(QueueService)
        service.queues.load()  # type: ignore[attr-defined]
        await service.load()
        yield client, service
        await service.close()


async def call(client: TestClient, method: str, path: str, who: dict[str, str] = ADMIN,  # type: ignore[type-arg]
               **kw: Any) -> tuple[int, Any]:
    r = await client.request(method, "/api/v1" + path, headers=who, **kw)
    return r.status, await r.json()


async def test_an_agent_logs_in_pauses_and_resumes_only_themself(api: Any) -> None:
    client, service = api
    assert (await call(client, "POST", "/agents/2001/login", AGENT))[1]["status"] == "available"
    status, out = await call(client, "POST", "/agents/2001/pause", AGENT, json={"reason": ""})
    assert status == 400
    status, out = await call(client, "POST", "/agents/2001/pause", AGENT, json={"reason": "休息"})
    assert (status, out["status"], out["pause_reason"]) == (200, "paused", "休息")
    assert (await call(client, "POST", "/agents/2001/resume", AGENT))[1]["status"] == "available"
    # Another agent's number: refused, and nothing changed.
    status, _ = await call(client, "POST", "/agents/2002/login", AGENT)
    assert status == 403 and service.agents["2002"].status == "logged_out"
    # A supervisor (here the admin) acts for anyone; an illegal step is a conflict.
    assert (await call(client, "POST", "/agents/2002/login"))[1]["status"] == "available"
    status, out = await call(client, "POST", "/agents/2002/login")
    assert status == 409 and "already logged in" in out["detail"]
    assert (await call(client, "POST", "/agents/9999/login"))[0] == 404


async def test_the_agents_feed_carries_their_own_screen_pops_only(api: Any) -> None:
    client, service = api
    ws = await client.ws_connect("/api/v1/agents/2001/events", headers=AGENT)
    await asyncio.sleep(0.05)
    card = CallerCard(call_id="c-1", caller_number="13800138000", caller_name="张三", built_at=utcnow())
    service.bus.publish({"kind": "screen_pop", "agent": "2002", "call_id": "c-0", "card": card}, topic="agent:2002",
                        private=True)
    service.bus.publish({"kind": "call_event", "call_id": "c-0"})
    service.bus.publish({"kind": "screen_pop", "agent": "2001", "call_id": "c-1", "card": card}, topic="agent:2001",
                        private=True)
    msg = json.loads((await asyncio.wait_for(ws.receive(), 2)).data)
    assert (msg["call_id"], msg["card"]["caller_number"]) == ("c-1", "13800138000")
    await ws.close()
    status, _ = await call(client, "GET", "/agents/2002/events", AGENT)
    assert status == 403


async def test_a_calls_screen_pop_by_id(api: Any, db: Database) -> None:
    client, _ = api
    assert (await call(client, "GET", "/calls/nope/screen-pop", AGENT))[0] == 404
    call_id = str(uuid.uuid4())
    async with db.session() as s:
        s.add(Call(id=call_id, channel_id="ch", caller_number="13911112222", arrived_at=utcnow(),
                   attributes={"category": "complaint"}))
        await s.commit()
    status, out = await call(client, "GET", f"/calls/{call_id}/screen-pop", AGENT)
    assert status == 200 and out["call_id"] == call_id and out["caller_number"] == "13911112222"
    assert out["category"] == "complaint"


async def test_the_wallboard_masks_callers_and_shows_todays_figures(api: Any) -> None:
    client, service = api

    class Session:
        call_id, channel_id, caller_number, caller_name = "c-9", "ch-9", "13922223333", ""

        def event(self, type_: str, **data: Any) -> None:
            pass

    settings = service.settings("general")
    service.enter(Session(), settings, WaitingCaller(call_id="c-9", queue="general", entered_at=utcnow(), seq=1), None)  # type: ignore[arg-type]
    status, board = await call(client, "GET", "/wallboard")
    assert status == 200
    [general] = board["queues"]
    assert general["waiting"] == 1 and general["callers"][0]["caller"] == "139****3333"
    assert {a["number"] for a in board["agents"]} == {"2001", "2002"}
    assert board["today"]["total"]["calls"] == 0
    assert (await call(client, "GET", "/wallboard", AGENT))[0] == 403
