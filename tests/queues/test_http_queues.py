"""The queue settings API on both backends: read by the staff, changed by admins with If-Match,
refused with every fault or a 409 and nothing changed, every change audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from callcore.accounts import audit
from callcore.api.router import Router
from callcore.core.identity import Principal
from callcore.plugin import Plugin
from callcore.queues import http_queues
from callcore.queues.catalog import QueueCatalog
from callcore.store.db import Database
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context
from tests.queues.test_catalog import GOOD, write

HANDLER = {"Authorization": "Bearer handler-token"}
Client = TestClient[web.Request, web.Application]


class HandlerAuth:
    async def authenticate(self, token: str) -> Principal | None:
        return Principal(user_id="u-h", name="承办人", role="handler", department_id="d1") \
            if token == "handler-token" else None


class CatalogPlugin(Plugin):
    """Stands in for the queues plugin: only the catalog and its API."""

    name = "queue-catalog"

    def build(self) -> None:
        self.ctx.provide(QueueCatalog(self.ctx.settings.run_dir / "queues.yaml"))

    def routers(self) -> Sequence[Router]:
        return (http_queues.router,)


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Client, QueueCatalog]]:
    ctx = context(db, tmp_path)
    async with api_client(ctx, [CatalogPlugin], authenticators=[AgentAuth(), HandlerAuth()]) as c:
        catalog = ctx.get(QueueCatalog)
        write(catalog.path, GOOD)
        await catalog.reload()
        yield c, catalog


async def json_of(r: Any) -> Any:
    assert r.content_type == "application/json", await r.text()
    return await r.json()


async def test_read(client: tuple[Client, QueueCatalog]) -> None:
    c, catalog = client
    body = await json_of(await c.get("/api/v1/queues", headers=AGENT))
    assert [q["name"] for q in body["items"]] == ["general", "complaint"]
    assert body["version"] == catalog.version and body["faults"] == []
    r = await c.get("/api/v1/queues/general", headers=ADMIN)
    q = await json_of(r)
    assert r.status == 200 and q["version"] == catalog.version_of("general")
    assert q["display_name"] == "综合服务" and q["strategy"] == "rrmemory" and q["ring_timeout"] == 15
    assert q["members"] == [{"agent": "1001", "penalty": 0}, {"agent": "1002", "penalty": 1}]
    r = await c.get("/api/v1/queues/nope", headers=ADMIN)
    assert r.status == 404 and (await json_of(r))["error_id"] == "unknown_queue"


async def test_put_with_if_match_then_a_stale_one_is_409(client: tuple[Client, QueueCatalog], db: Database) -> None:
    c, catalog = client
    seen = (await json_of(await c.get("/api/v1/queues/general", headers=ADMIN)))["version"]
    change = {"display_name": "综合服务台", "strategy": "leastrecent", "members": [{"agent": "1003"}]}
    r = await c.put("/api/v1/queues/general", json=change, headers={**ADMIN, "If-Match": f'"{seen}"'})
    body = await json_of(r)
    assert r.status == 200 and body["version"] != seen and body["members"] == [{"agent": "1003", "penalty": 0}]
    assert catalog.get("general").strategy == "leastrecent" and "综合服务台" in catalog.path.read_text(encoding="utf-8")
    text = catalog.path.read_text(encoding="utf-8")
    r = await c.put("/api/v1/queues/general", json={"display_name": "晚了"}, headers={**ADMIN, "If-Match": seen})
    err = await json_of(r)
    assert r.status == 409 and err["error_id"] == "queue_version_conflict"
    assert err["details"] == {"current_version": body["version"]}
    assert catalog.path.read_text(encoding="utf-8") == text and catalog.get("general").display_name == "综合服务台"
    rows = await audit.entries(db, object_id="general")
    assert [(e.action, e.user_id, e.role, e.object_type) for e in rows] == [
        ("queue_put", "admin-token", "admin", "queue")]
    assert rows[0].detail["if_match"] == seen and rows[0].detail["version"] == body["version"]
    assert rows[0].detail["settings"]["strategy"] == "leastrecent"


async def test_an_invalid_queue_is_400_with_every_fault_and_changes_nothing(
        client: tuple[Client, QueueCatalog], db: Database) -> None:
    c, catalog = client
    text, before = catalog.path.read_text(encoding="utf-8"), catalog.all()
    bad = {"display_name": "x", "ring_timeout": "slow", "on_max_wait": "hang up", "members": [{"agent": "1001"},
                                                                                              {"agent": "1001"}],
           "colour": "red"}
    r = await c.put("/api/v1/queues/general", json=bad, headers=ADMIN)
    err = await json_of(r)
    assert r.status == 400 and err["error_id"] == "invalid_queue_settings"
    assert sorted(d["field"] for d in err["details"]) == ["colour", "members[1].agent", "on_max_wait", "ring_timeout"]
    for body in ([1, 2], {"name": "complaint", "display_name": "x"}, {"display_name": "空\x00字"}):
        r = await c.put("/api/v1/queues/general", json=body, headers=ADMIN)
        assert r.status == 400, body
    r = await c.put("/api/v1/queues/Not%20A%20Name", json={"display_name": "x"}, headers=ADMIN)
    assert r.status == 400 and (await json_of(r))["details"][0]["field"] == "name"
    assert catalog.path.read_text(encoding="utf-8") == text and catalog.all() == before
    assert await audit.entries(db, object_id="general") == []


async def test_add_and_delete(client: tuple[Client, QueueCatalog], db: Database) -> None:
    c, catalog = client
    r = await c.put("/api/v1/queues/night", json={"display_name": "夜间", "max_wait": 0}, headers=ADMIN)
    assert r.status == 200 and catalog.names() == ["general", "complaint", "night"]
    r = await c.delete("/api/v1/queues/night", headers={**ADMIN, "If-Match": '"stale"'})
    assert r.status == 409 and "night" in catalog.names()
    r = await c.delete("/api/v1/queues/night", headers={**ADMIN, "If-Match": catalog.version_of("night")})
    assert r.status == 204 and catalog.names() == ["general", "complaint"]
    r = await c.delete("/api/v1/queues/night", headers=ADMIN)
    assert r.status == 404
    rows = await audit.entries(db, object_id="night")
    assert sorted(e.action for e in rows) == ["queue_delete", "queue_put"]
    deleted = next(e for e in rows if e.action == "queue_delete")
    assert deleted.detail["settings"]["display_name"] == "夜间"  # enough to put it back


async def test_roles(client: tuple[Client, QueueCatalog]) -> None:
    c, catalog = client
    assert (await c.get("/api/v1/queues")).status == 401
    assert (await c.get("/api/v1/queues", headers=HANDLER)).status == 403
    assert (await c.put("/api/v1/queues/general", json={"display_name": "x"}, headers=AGENT)).status == 403
    assert (await c.delete("/api/v1/queues/general", headers=AGENT)).status == 403
    assert catalog.get("general").display_name == "综合服务"


async def test_a_hand_edit_that_is_invalid_shows_and_blocks_edits(client: tuple[Client, QueueCatalog]) -> None:
    c, catalog = client
    write(catalog.path, GOOD.replace("ring_timeout: 20", "ring_timeout: 0"))
    r = await c.put("/api/v1/queues/general", json={"display_name": "x"}, headers=ADMIN)
    err = await json_of(r)
    assert r.status == 409 and err["details"] == [
        {"field": "queues[1].ring_timeout", "message": "must be more than 0 seconds", "line": 11}]
    body = await json_of(await c.get("/api/v1/queues", headers=ADMIN))
    assert body["faults"] == err["details"] and len(body["items"]) == 2
