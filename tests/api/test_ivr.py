from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydub.generators import Sine

from callcore.api import ivr
from callcore.api.app import create_app
from callcore.api.auth import AuthChain, Principal, StaticTokenAuth
from callcore.api.services import Services
from callcore.bus import EventBus
from callcore.calls.journal import CallJournal
from callcore.config import ApiSettings, Settings
from callcore.ivr.registry import MenuRegistry
from callcore.ivr.validator import prompt_dirs
from callcore.store.db import Database

from tests.ivr.menus import GOOD

TOKEN = "test-admin-token-123"
MAIN = GOOD.replace("menu: t\n", "menu: main\n")
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
AGENT = {"Authorization": "Bearer agent-token"}


class AgentAuth:
    async def authenticate(self, token: str) -> Principal | None:
        return Principal(user_id="u7", name="接线员", role="agent") if token == "agent-token" else None


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TestClient, MenuRegistry]]:  # type: ignore[type-arg]
    settings = replace(Settings(run_dir=tmp_path, ivr_dir=tmp_path / "ivr"), api=ApiSettings(token=TOKEN))
    services = Services(settings=settings, db=db, bus=EventBus(), journal=CallJournal(db, tmp_path / "spool.jsonl"))
    reg = MenuRegistry(ivr_dir=settings.ivr_dir, dirs=prompt_dirs(settings), db=db)
    app = create_app(services, routers=[ivr.router], auth=AuthChain(StaticTokenAuth(TOKEN), AgentAuth()))
    app[ivr.IVR_REGISTRY] = reg
    async with TestClient(TestServer(app)) as c:
        yield c, reg


async def test_put_get_versions_rollback(client: tuple[TestClient, MenuRegistry]) -> None:  # type: ignore[type-arg]
    c, reg = client
    r = await c.put("/api/v1/ivr/menus/main", json={"source": MAIN, "comment": "first"}, headers=ADMIN)
    assert r.status == 200, await r.text()
    assert (await r.json())["version"] == 1
    v2 = MAIN.replace('version: "1"', 'version: "2"')
    r = await c.put("/api/v1/ivr/menus/main", json={"source": v2}, headers=ADMIN)
    assert (await r.json())["label"] == "2"
    r = await c.get("/api/v1/ivr/menus/main", headers=ADMIN)
    body = await r.json()
    assert body["version"] == 2 and body["source"] == v2 and body["author"] == "admin token (admin-token)"
    r = await c.post("/api/v1/ivr/menus/main/rollback", json={"version": 1}, headers=ADMIN)
    assert (await r.json())["version"] == 3 and reg.current("main").menu.label == "1"
    r = await c.get("/api/v1/ivr/menus/main/versions", headers=ADMIN)
    items = (await r.json())["items"]
    assert [(i["version"], i["origin"], i["based_on"]) for i in items] == [(3, "rollback", 1), (2, "api", None), (1, "api", None)]
    r = await c.get("/api/v1/ivr/menus/main/versions/1", headers=ADMIN)
    assert (await r.json())["source"] == MAIN
    r = await c.get("/api/v1/ivr/menus/main/versions/9", headers=ADMIN)
    assert r.status == 404


async def test_invalid_menu_is_400_with_line_and_fault(client: tuple[TestClient, MenuRegistry]) -> None:  # type: ignore[type-arg]
    c, reg = client
    await c.put("/api/v1/ivr/menus/main", json={"source": MAIN}, headers=ADMIN)
    r = await c.put("/api/v1/ivr/menus/main", json={"source": MAIN.replace('"0": agent', '"0": nowhere')},
                    headers=ADMIN)
    assert r.status == 400
    body = await r.json()
    assert body["error_id"] == "invalid_menu"
    assert body["details"] == [{"line": 16, "message": "node main, choice 0: unknown target 'nowhere'"}]
    assert reg.current("main").version == 1


async def test_admin_only(client: tuple[TestClient, MenuRegistry]) -> None:  # type: ignore[type-arg]
    c, _ = client
    r = await c.get("/api/v1/ivr/menus", headers=AGENT)
    assert r.status == 403
    r = await c.put("/api/v1/ivr/menus/main", json={"source": MAIN})
    assert r.status == 401


async def test_upload_recording_then_use_it(client: tuple[TestClient, MenuRegistry], tmp_path: Path) -> None:  # type: ignore[type-arg]
    c, reg = client
    mp3 = tmp_path / "hello.mp3"
    Sine(440).to_audio_segment(duration=500).set_frame_rate(44100).export(str(mp3), format="mp3").close()
    r = await c.put("/api/v1/ivr/recordings/welcome_rec", data=mp3.read_bytes(),
                    headers={**ADMIN, "Content-Type": "audio/mpeg"})
    assert r.status == 200, await r.text()
    assert (await r.json())["prompt"] == {"file": "welcome_rec"}
    menu = MAIN.replace('prompt: "子菜单"', "prompt: {file: welcome_rec}")
    r = await c.put("/api/v1/ivr/menus/main", json={"source": menu}, headers=ADMIN)
    assert r.status == 200, await r.text()
    r = await c.put("/api/v1/ivr/recordings/junk", data=b"not audio at all", headers={**ADMIN, "Content-Type": "audio/wav"})
    assert r.status == 400 and "cannot read" in (await r.json())["message"]
