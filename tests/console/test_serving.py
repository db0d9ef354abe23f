"""The console capability in process: the built files (SPA fallback, cache headers, no way out of
the folder, a clear page when the build is missing), who am I with the agent number, and the
one-time tickets that open the agent's feed and the wallboard from a browser."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL
from aiohttp.test_utils import TestClient

from callcore.accounts.models import User
from callcore.accounts.plugin import AccountsPlugin
from callcore.calls.plugin import CallsPlugin
from callcore.console.plugin import ConsolePlugin
from callcore.console.tickets import Grant, SocketTickets
from callcore.core.identity import Principal
from callcore.queues.directory import AgentDirectory
from callcore.queues.plugin import QueuesPlugin
from callcore.queues.services import QueueService
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context

QUEUES = "queues:\n  - name: general\n    display_name: 综合服务\n    members: [\"2001\"]\n"


def built(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>console</title>", encoding="utf-8")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    (root / "favicon.ico").write_bytes(b"\0")
    return root


@pytest.fixture
async def client(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 request: pytest.FixtureRequest) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    dist = tmp_path / "dist"
    if getattr(request, "param", "built") == "built":
        built(dist)
    monkeypatch.setenv("CALLCORE_CONSOLE_DIR", str(dist))
    (tmp_path / "queues.yaml").write_text(QUEUES, encoding="utf-8")
    ctx = context(db, tmp_path, queues_file=tmp_path / "queues.yaml")
    async with db.session() as s:
        s.add(User(id="u7", username="agent7", name="接线员", role="agent", password_hash="x"))
        await s.commit()
    async with api_client(ctx, [CallsPlugin, AccountsPlugin, TicketsPlugin, QueuesPlugin, ConsolePlugin],
                          authenticators=[AgentAuth()]) as c:
        await ctx.get(AgentDirectory).create("2001", "王芳", user_id="u7")
        service = ctx.get(QueueService)
        service.queues.load()  # type: ignore[attr-defined]
        await service.load()
        yield c
        await service.close()


async def test_the_app_its_client_routes_and_its_hashed_files(client: Any) -> None:
    r = await client.get("/console", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/console/"
    for path in ("/console/", "/console/agent", "/console/admin/ivr", "/console/%2e%2e/%2e%2e/pyproject.toml",
                 "/console/%2fetc%2fpasswd"):
        r = await client.get(URL(path, encoded=True))
        assert r.status == 200, path
        assert "<title>console</title>" in await r.text(), path
        assert r.headers["Cache-Control"] == "no-cache"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"] and r.headers["X-Frame-Options"] == "DENY"
    r = await client.get(URL("/console/assets/%2e%2e/%2e%2e/%2e%2e/pyproject.toml", encoded=True))
    assert r.status == 404 and "callcore" not in await r.text()
    r = await client.get("/console/assets/index-abc123.js")
    assert r.status == 200 and await r.text() == "console.log(1)"
    assert "immutable" in r.headers["Cache-Control"] and "max-age=31536000" in r.headers["Cache-Control"]
    assert (await client.get("/console/favicon.ico")).headers["Cache-Control"] == "public, max-age=300"
    # A hashed file of an older build is a 404, never the page: a script must not get HTML.
    r = await client.get("/console/assets/index-old999.js")
    assert r.status == 404 and (await r.json())["error_id"] == "not_found"


async def test_a_compressed_sibling_goes_to_a_browser_that_accepts_gzip(client: Any, tmp_path: Path) -> None:
    """The build writes ``x.js.gz`` beside ``x.js`` (console/vite.config.ts): about a third of the
    bytes for a console on a real network; a client that does not accept gzip gets the file itself."""
    script = "console.log('控制台');\n" * 200
    asset = tmp_path / "dist" / "assets" / "vue-abc123.js"
    asset.write_text(script, encoding="utf-8")
    asset.with_name(asset.name + ".gz").write_bytes(gzip.compress(script.encode(), 9))
    r = await client.get("/console/assets/vue-abc123.js", headers={"Accept-Encoding": "gzip, deflate, br"},
                         auto_decompress=False)
    assert r.status == 200 and r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert "immutable" in r.headers["Cache-Control"] and "Accept-Encoding" in r.headers.get("Vary", "")
    body = await r.read()
    assert len(body) < len(script.encode()) / 10 and gzip.decompress(body).decode() == script
    r = await client.get("/console/assets/vue-abc123.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in r.headers and await r.text() == script


@pytest.mark.parametrize("client", ["missing"], indirect=True)
async def test_a_missing_build_says_how_to_build_it(client: Any) -> None:
    r = await client.get("/console/agent")
    assert r.status == 503
    assert "控制台尚未构建" in await r.text() and "npm run build" in await r.text()
    # The API is unaffected.
    assert (await client.get("/api/v1/console/me", headers=AGENT)).status == 200


async def test_me_names_the_agent_number_of_the_user(client: Any) -> None:
    r = await client.get("/api/v1/console/me", headers=AGENT)
    assert (await r.json())["agent_number"] == "2001"
    r = await client.get("/api/v1/console/me", headers=ADMIN)
    body = await r.json()
    assert (body["role"], body["agent_number"]) == ("admin", None)
    assert (await client.get("/api/v1/console/me")).status == 401


async def ticket(client: Any, who: dict[str, str]) -> str:
    r = await client.post("/api/v1/console/socket-tickets", headers=who, json={})
    assert r.status == 201
    return str((await r.json())["ticket"])


async def test_a_ticket_opens_one_feed_once_with_the_feeds_own_role_check(client: Any) -> None:
    t = await ticket(client, AGENT)
    async with client.ws_connect(f"/api/v1/console/sockets/agents/2001/events?ticket={t}") as ws:
        await client.post("/api/v1/agents/2001/login", headers=AGENT)
        msg = await ws.receive_json(timeout=5)
        assert (msg["kind"], msg["status"]) == ("agent_state", "available")
    # Used once: the same ticket opens nothing again.
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await client.ws_connect(f"/api/v1/console/sockets/agents/2001/events?ticket={t}")
    assert exc.value.status == 401
    # An agent's ticket opens neither another agent's feed nor the wallboard.
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await client.ws_connect(f"/api/v1/console/sockets/agents/2002/events?ticket={await ticket(client, AGENT)}")
    assert exc.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await client.ws_connect(f"/api/v1/console/sockets/wallboard?ticket={await ticket(client, AGENT)}")
    assert exc.value.status == 403
    async with client.ws_connect(f"/api/v1/console/sockets/wallboard?ticket={await ticket(client, ADMIN)}") as ws:
        snap = await ws.receive_json(timeout=5)
        assert [a["number"] for a in snap["agents"]] == ["2001"]


def test_tickets_expire_and_are_never_kept_without_bound() -> None:
    now = [0.0]
    tickets = SocketTickets(clock=lambda: now[0], ttl=30)
    who = Grant(principal=Principal(user_id="u1", name="x", role="agent"), credential="token-of-u1")
    t = tickets.issue(who)
    now[0] = 31
    assert tickets.redeem(t) is None
    t = tickets.issue(who)
    assert tickets.redeem(t) == who and tickets.redeem(t) is None
    assert tickets.redeem("nonsense") is None
