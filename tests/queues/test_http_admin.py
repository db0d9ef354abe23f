"""Agents through the admin API: the SIP password appears once (on create and on rotation), a bad
body is a 4xx naming the field and changes nothing, only admins may act, rotations are audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from callcore.accounts.models import AuditEntry, User
from callcore.api.router import Router
from callcore.asterisk.render import AGENTS_CONF, sip_md5
from callcore.plugin import Plugin
from callcore.queues import http_admin
from callcore.queues.directory import AgentDirectory
from callcore.queues.models import Agent
from callcore.store.db import Database
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context


class AgentsOnly(Plugin):
    """The agents' admin routes and directory, as the queues plugin will provide them."""

    name = "agents-test"
    reloads: list[str] = []

    def build(self) -> None:
        async def reload() -> None:
            self.reloads.append("res_pjsip.so")

        self.ctx.provide(AgentDirectory(self.ctx.db, self.ctx.settings, reload))

    def routers(self) -> Sequence[Router]:
        return (http_admin.router,)


class Api:
    def __init__(self, client: TestClient, db: Database, run_dir: Path) -> None:  # type: ignore[type-arg]
        self.client = client
        self.db = db
        self.run_dir = run_dir

    async def call(self, method: str, path: str, who: dict[str, str] = ADMIN, **kw: Any) -> tuple[int, Any]:
        r = await self.client.request(method, "/api/v1" + path, headers=who, **kw)
        return r.status, await r.json()

    async def rows(self) -> list[tuple[str, str, str, bool, str | None]]:
        async with self.db.session() as s:
            return [(a.number, a.name, a.sip_md5, a.active, a.user_id)
                    for a in await s.scalars(select(Agent).order_by(Agent.number))]

    def conf(self) -> str:
        return (self.run_dir / "etc" / AGENTS_CONF).read_text(encoding="utf-8")


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[Api]:
    AgentsOnly.reloads = []
    async with db.session() as s:
        s.add_all([User(id="u-agent", username="wangfang", name="王芳", role="agent", password_hash="x", active=True),
                   User(id="u-leader", username="boss", name="领导", role="leader", password_hash="x", active=True)])
    async with api_client(context(db, tmp_path), [AgentsOnly], authenticators=[AgentAuth()]) as client:
        yield Api(client, db, tmp_path)


async def test_create_shows_the_password_once(api: Api) -> None:
    s, out = await api.call("POST", "/agents", json={"number": "1001", "name": "王芳", "user_id": "u-agent"})
    assert s == 201, out
    password = out.pop("sip_password")
    assert out["number"] == "1001" and out["name"] == "王芳" and out["username"] == "wangfang" and out["active"]
    assert out["created_at"].endswith("Z")
    [(_, _, digest, _, _)] = await api.rows()
    assert digest == sip_md5("1001", password)
    assert "[1001-auth]" in api.conf() and AgentsOnly.reloads == ["res_pjsip.so"]
    s, got = await api.call("GET", "/agents/1001")
    assert s == 200 and got == out and "sip_password" not in got
    s, listed = await api.call("GET", "/agents")
    assert s == 200 and listed == [out]
    assert all(password not in str(v) for v in (got, listed))


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"number": "12", "name": "王芳"}, "number", 400),
    ({"number": "123456789", "name": "王芳"}, "number", 400),
    ({"number": "1001\n", "name": "王芳"}, "number", 400),
    ({"number": 1001, "name": "王芳"}, "number", 400),
    ({"number": "1001"}, "name", 400),
    ({"number": "1001", "name": ""}, "name", 400),
    ({"number": "1001", "name": "   "}, "name", 400),
    ({"number": "1001", "name": "王;芳"}, "name", 400),
    ({"number": "1001", "name": "王\x00芳"}, "name", 400),
    ({"number": "1001", "name": "王芳", "user_id": "nobody"}, "user_id", 400),
    ({"number": "1001", "name": "王芳", "user_id": "u-leader"}, "user_id", 400),
    ({"number": "1001", "name": "王芳", "sip_password": "mine"}, "sip_password", 400),
    ({"number": "1001", "name": "王芳", "sip_md5": "0" * 32}, "sip_md5", 400),
    ([], "body", 400),
])
async def test_a_bad_body_names_the_field_and_changes_nothing(api: Api, body: Any, field: str, status: int) -> None:
    s, err = await api.call("POST", "/agents", json=body)
    assert s == status, err
    assert err["details"][0]["field"] == field or err["message"].startswith(field), err
    assert await api.rows() == [] and AgentsOnly.reloads == []


async def test_not_json_and_conflicts(api: Api) -> None:
    s, err = await api.call("POST", "/agents", {**ADMIN, "Content-Type": "application/json"}, data=b"{")
    assert s == 400 and err["detail"] == "body: not valid JSON"
    assert (await api.call("POST", "/agents", json={"number": "1001", "name": "王芳", "user_id": "u-agent"}))[0] == 201
    before = await api.rows()
    s, err = await api.call("POST", "/agents", json={"number": "1001", "name": "李雷"})
    assert s == 409 and "1001" in err["detail"]
    s, err = await api.call("POST", "/agents", json={"number": "1002", "name": "李雷", "user_id": "u-agent"})
    assert s == 409 and "already agent 1001" in err["detail"]
    assert await api.rows() == before


async def test_patch_changes_what_is_given(api: Api) -> None:
    await api.call("POST", "/agents", json={"number": "1001", "name": "王芳"})
    s, out = await api.call("PATCH", "/agents/1001", json={"name": "王芳芳", "user_id": "u-agent"})
    assert s == 200 and (out["name"], out["user_id"], out["username"], out["active"]) == ("王芳芳", "u-agent", "wangfang", True)
    assert '"王芳芳" <1001>' in api.conf()
    s, out = await api.call("PATCH", "/agents/1001", json={"active": False})
    assert s == 200 and out["active"] is False and out["user_id"] == "u-agent"  # an absent field is kept
    assert "[1001]" not in api.conf()
    s, out = await api.call("PATCH", "/agents/1001", json={"active": True, "user_id": None})
    assert s == 200 and out["active"] is True and out["user_id"] is None  # null unlinks
    assert "[1001]" in api.conf()


@pytest.mark.parametrize(("body", "field"), [
    ({"active": None}, "active"), ({"active": "yes please"}, "active"), ({"name": None}, "name"),
    ({"name": "a\"b", "active": False}, "name"), ({"name": "新", "user_id": "u-leader"}, "user_id"),
    ({"name": "新", "user_id": ""}, "user_id"), ({"number": "1002"}, "number"),
])
async def test_a_bad_patch_changes_nothing(api: Api, body: dict[str, Any], field: str) -> None:
    await api.call("POST", "/agents", json={"number": "1001", "name": "王芳"})
    before, reloads = await api.rows(), list(AgentsOnly.reloads)
    s, err = await api.call("PATCH", "/agents/1001", json=body)
    assert s == 400 and err["details"][0]["field"] == field, err
    assert await api.rows() == before and AgentsOnly.reloads == reloads


async def test_unknown_and_malformed_numbers(api: Api) -> None:
    assert (await api.call("GET", "/agents/1001"))[0] == 404
    assert (await api.call("PATCH", "/agents/1001", json={"name": "x"}))[0] == 404
    assert (await api.call("POST", "/agents/1001/sip-password"))[0] == 404
    for bad in ("abc", "12", "123456789", "%E4%B8%80%E4%BA%8C%E4%B8%89", "1001%0A"):
        s, err = await api.call("GET", f"/agents/{bad}")
        assert s == 400 and err["details"][0] == {"field": "number", "in": "path", "message": err["details"][0]["message"]}


async def test_rotation_shows_the_new_password_once_and_is_audited(api: Api) -> None:
    _, created = await api.call("POST", "/agents", json={"number": "1001", "name": "王芳"})
    s, out = await api.call("POST", "/agents/1001/sip-password")
    assert s == 200 and out["sip_password"] != created["sip_password"] and out["number"] == "1001"
    [(_, _, digest, _, _)] = await api.rows()
    assert digest == sip_md5("1001", out["sip_password"])
    assert f"md5_cred = {digest}" in api.conf() and len(AgentsOnly.reloads) == 2
    async with api.db.session() as s2:
        entries = [(e.user_id, e.action, e.object_id) for e in await s2.scalars(select(AuditEntry).order_by(AuditEntry.at))]
    assert ("admin-token", "sip_password_rotated", "1001") in entries


async def test_only_admins_manage_agents(api: Api) -> None:
    await api.call("POST", "/agents", json={"number": "1001", "name": "王芳"})
    for method, path, body in [("GET", "/agents", None), ("GET", "/agents/1001", None),
                               ("POST", "/agents", {"number": "1002", "name": "x"}),
                               ("PATCH", "/agents/1001", {"active": False}), ("POST", "/agents/1001/sip-password", None)]:
        assert (await api.call(method, path, AGENT, json=body))[0] == 403, (method, path)
        assert (await api.call(method, path, {}, json=body))[0] == 401, (method, path)
    assert [r[0] for r in await api.rows()] == ["1001"] and len(AgentsOnly.reloads) == 1
