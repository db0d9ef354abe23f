"""Who sees which calls (issue 12, A-1/A-2): the call list, one call with its timeline, and the live
stream, per role, through the API as the daemon builds it (calls, accounts, tickets and queues)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from callcore.accounts.models import Department, User
from callcore.accounts.plugin import AccountsPlugin
from callcore.calls import events as ev
from callcore.calls.models import Call, CallEvent
from callcore.calls.plugin import CallsPlugin
from callcore.core.identity import Principal
from callcore.queues.directory import AgentDirectory
from callcore.queues.plugin import QueuesPlugin
from callcore.queues.services import QueueService
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from callcore.tickets.services import NewTicket, TicketService
from tests.apps import ADMIN, api_client, context

QUEUES = """queues:
  - name: general
    display_name: 综合服务
    members: ["2001", "2002"]
  - name: water
    display_name: 供水
    members: ["2002"]
"""
PEOPLE = {
    "agent": Principal(user_id="u-agent", name="接线员", role="agent"),
    "handler": Principal(user_id="u-handler", name="承办人", role="handler", department_id="dep-a"),
    "handler_b": Principal(user_id="u-handler-b", name="承办人乙", role="handler", department_id="dep-b"),
    "leader": Principal(user_id="u-leader", name="领导", role="leader"),
    "supervisor": Principal(user_id="u-sup", name="班长", role="supervisor"),
}


class People:
    async def authenticate(self, token: str) -> Principal | None:
        return PEOPLE.get(token.removeprefix("token-"))


def auth(who: str) -> dict[str, str]:
    return ADMIN if who == "admin" else {"Authorization": f"Bearer token-{who}"}


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:  # type: ignore[type-arg]
    (tmp_path / "queues.yaml").write_text(QUEUES, encoding="utf-8")
    ctx = context(db, tmp_path, queues_file=tmp_path / "queues.yaml")
    async with db.session() as s:
        s.add_all(Department(id=f"dep-{c}", code=c, name=f"{c}单位", active=True, contact="") for c in ("a", "b"))
        s.add_all(User(id=p.user_id, username=k, name=p.name, role=p.role, password_hash="x",
                       department_id=p.department_id) for k, p in PEOPLE.items())
        await s.commit()
    async with api_client(ctx, [CallsPlugin, AccountsPlugin, TicketsPlugin, QueuesPlugin],
                          authenticators=[People()]) as client:
        await ctx.get(AgentDirectory).create("2001", "王芳", user_id="u-agent")
        await ctx.get(AgentDirectory).create("2002", "李明")
        ctx.get(QueueService).queues.load()  # type: ignore[attr-defined]
        at = utcnow()
        calls = {  # name: (queue, agent who took it)
            "general_by_other": ("general", "2002"),  # the agent's queue
            "water_by_agent": ("water", "2001"),      # taken by the agent, another queue
            "water_by_other": ("water", "2002"),      # neither
            "ivr_only": (None, None),                 # never reached a queue: the ticket's call
        }
        ids = {name: f"call-{name}" for name in calls}
        async with db.session() as s:
            for i, (name, (queue, agent)) in enumerate(calls.items()):
                s.add(Call(id=ids[name], channel_id=f"ch-{i}", caller_number=f"1391111000{i}", caller_name="市民",
                           arrived_at=at - timedelta(minutes=i), queue=queue, agent=agent, status="ended"))
                s.add(CallEvent(id=f"ev-{i}", call_id=ids[name], seq=1, at=at - timedelta(minutes=i), type=ev.ARRIVED,
                                data={"caller_number": f"1391111000{i}", "caller_name": "市民"}))
            await s.commit()
        tickets = ctx.get(TicketService)
        t, _ = await tickets.create(PEOPLE["supervisor"], NewTicket(category="help", content="路灯不亮",
                                                                    phone="13911110003", call_id=ids["ivr_only"]))
        await tickets.act(PEOPLE["supervisor"], t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"})
        yield client, ids


async def listed(client: TestClient, who: str) -> set[str]:  # type: ignore[type-arg]
    r = await client.get("/api/v1/calls", headers=auth(who))
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["total"] == len(body["items"])
    return {i["id"] for i in body["items"]}


async def detail(client: TestClient, who: str, call_id: str) -> tuple[int, Any]:  # type: ignore[type-arg]
    r = await client.get(f"/api/v1/calls/{call_id}", headers=auth(who))
    return r.status, await r.json()


async def test_each_role_lists_only_the_calls_it_handles(api: tuple[TestClient, dict[str, str]]) -> None:  # type: ignore[type-arg]
    client, ids = api
    every = set(ids.values())
    assert await listed(client, "admin") == every
    assert await listed(client, "supervisor") == every
    assert await listed(client, "leader") == every
    # An agent: the queues they serve and the calls they took.
    assert await listed(client, "agent") == {ids["general_by_other"], ids["water_by_agent"]}
    # A handler: the calls behind the department's tickets; another department's handler none.
    assert await listed(client, "handler") == {ids["ivr_only"]}
    assert await listed(client, "handler_b") == set()


async def test_a_call_out_of_scope_is_not_found_and_the_timeline_is_masked_like_the_call(
        api: tuple[TestClient, dict[str, str]]) -> None:  # type: ignore[type-arg]
    client, ids = api
    missing = await detail(client, "agent", "call-nonexistent")
    hidden = await detail(client, "agent", ids["water_by_other"])
    assert hidden[0] == missing[0] == 404  # the same answer: a call's existence is not confirmed
    status, seen = await detail(client, "handler", ids["ivr_only"])
    assert status == 200 and seen["caller_number"] == "139****0003"
    [arrived] = seen["timeline"]
    assert arrived["data"]["caller_number"] == "139****0003" and "13911110003" not in str(seen)
    # The centre's staff see the number whole in both places (they call citizens back).
    status, seen = await detail(client, "agent", ids["water_by_agent"])
    assert status == 200 and seen["timeline"][0]["data"]["caller_number"] == seen["caller_number"] == "13911110001"


@pytest.mark.parametrize("who", ["agent", "handler", "leader"])
async def test_only_the_floor_watches_every_call_live(api: tuple[TestClient, dict[str, str]], who: str) -> None:  # type: ignore[type-arg]
    client, _ = api
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/api/v1/events/stream", headers=auth(who), params={"caller": "13911110001"})
    assert refused.value.status == 403
    for allowed in ("supervisor", "admin"):
        ws = await client.ws_connect("/api/v1/events/stream", headers=auth(allowed))
        await ws.close()
