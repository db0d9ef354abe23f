"""The callbacks' API as the daemon serves it: click-to-dial with a callback task refuses, before
anything rings, a task that does not exist (404), is closed (409) or has another number (400), and
gives the task back to the dialer when the agent cannot be rung; the document says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from callcore.accounts.models import User
from callcore.accounts.plugin import AccountsPlugin
from callcore.callbacks.dialer import CallbackDialer
from callcore.callbacks.plugin import CallbacksPlugin
from callcore.callbacks.services import CallbackService
from callcore.calls.plugin import CallsPlugin
from callcore.config import AsteriskSettings
from callcore.queues.directory import AgentDirectory
from callcore.queues.plugin import QueuesPlugin
from callcore.queues.services import QueueService
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context

QUEUES = """queues:
  - name: general
    display_name: 综合服务
    members: ["2002"]
"""


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TestClient, CallbackService]]:  # type: ignore[type-arg]
    (tmp_path / "queues.yaml").write_text(QUEUES, encoding="utf-8")
    ctx = context(db, tmp_path, queues_file=tmp_path / "queues.yaml",
                  asterisk=AsteriskSettings(outbound_trunk="sip:127.0.0.1:5999"))
    async with db.session() as s:
        s.add(User(id="u7", username="agent7", name="接线员", role="agent", password_hash="x"))
    async with api_client(ctx, [CallsPlugin, AccountsPlugin, TicketsPlugin, QueuesPlugin, CallbacksPlugin],
                          authenticators=[AgentAuth()]) as client:
        await ctx.get(AgentDirectory).create("2001", "王芳", user_id="u7")
        await ctx.get(AgentDirectory).create("2002", "李明")
        service = ctx.get(QueueService)
        service.queues.load()  # type: ignore[attr-defined]
        await service.load()
        yield client, ctx.get(CallbackService)
        await ctx.get(CallbackDialer).close()
        await service.close()


async def originate(client: TestClient, body: dict[str, Any], who: dict[str, str] = AGENT) -> tuple[int, Any]:  # type: ignore[type-arg]
    r = await client.post("/api/v1/agents/2001/originate", json=body, headers=who)
    return r.status, await r.json()


async def test_click_to_dial_for_a_callback_task_refuses_what_it_cannot_serve(api: Any) -> None:
    client, callbacks = api
    task_id = await callbacks.request(number="13930000011", origin="offer", queue="general",
                                      entered_at=utcnow() - timedelta(minutes=3))
    status, out = await originate(client, {})
    assert status == 400 and "callback" in out["detail"]  # a number or a task
    status, out = await originate(client, {"callback": str(uuid.uuid4())})
    assert (status, out["message"]) == (404, "回拨任务不存在")
    status, out = await originate(client, {"callback": task_id, "number": "13930000012"})
    assert (status, out["error_id"], out["message"]) == (400, "number_mismatch", "号码与回拨任务的号码不一致")
    # The task's own number (as typed) is no mismatch: the agent is not ready, a 409 that leaves the
    # task pending, with no attempt.
    status, out = await originate(client, {"callback": task_id, "number": "139 3000 0011"})
    assert status == 409 and "cannot be rung" in out["detail"]
    task, attempts = await callbacks.get(task_id)
    assert task.status == "pending" and attempts == []
    await callbacks.cancel(task_id, reason="duplicate")
    status, out = await originate(client, {"callback": task_id}, ADMIN)  # a supervisor's too
    assert status == 409 and out["detail"].endswith("is already cancelled")


async def test_the_document_says_what_a_callback_click_to_dial_takes_and_refuses(api: Any) -> None:
    client, _ = api
    doc = await (await client.get("/api/v1/openapi.json")).json()
    op = doc["paths"]["/api/v1/agents/{number}/originate"]["post"]
    assert {"400", "404", "409", "503"} <= set(op["responses"])
    body = doc["components"]["schemas"]["OriginateIn"]["properties"]
    assert "callback" in body and "attempt" in body["callback"]["description"]
