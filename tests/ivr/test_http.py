from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pydub.generators import Sine

from callcore.ivr.plugin import IvrPlugin
from callcore.ivr.registry import MenuRegistry
from callcore.store.db import Database

from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context
from tests.ivr.menus import GOOD

MAIN = GOOD.replace("menu: t\n", "menu: main\n")


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TestClient, MenuRegistry]]:  # type: ignore[type-arg]
    ctx = context(db, tmp_path, ivr_dir=tmp_path / "ivr")
    async with api_client(ctx, [IvrPlugin], authenticators=[AgentAuth()]) as c:
        yield c, ctx.get(MenuRegistry)


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
    assert body["message"] == "菜单校验未通过：共1处错误，见第16行"  # where to look, in Chinese
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
    assert r.status == 400 and "cannot read" in (await r.json())["detail"]
