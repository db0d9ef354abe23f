"""A console ticket (a WebSocket's, an ``<audio>`` element's) is only as good as the login that asked
for it (issue 11): once that session is logged out, or ended by an admin (the user deactivated),
the tickets it took open nothing more, while other users' tickets go on working."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from callcore.plugins import plugin_classes
from callcore.store.db import Database
from tests.accounts.staff import Api, staff_api
from tests.apps import context
from tests.recordings.helpers import add_call, add_recording

BASE = "/api/v1/console"


class ConsoleApi(Api):
    recordings: Path


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[ConsoleApi]:
    ctx = context(db, tmp_path)
    async with staff_api(db, tmp_path, plugin_classes(), ConsoleApi, ctx=ctx) as staff:
        staff.recordings = tmp_path / "spool" / "recording"
        yield staff


async def _audio_url(api: ConsoleApi, who: str, recording_id: str) -> str:
    status, body = await api.call("POST", f"{BASE}/audio-tickets", who, json={"recording_id": recording_id})
    assert status == 201, body
    return str(body["url"])


async def test_an_audio_ticket_stops_playing_when_its_login_ends(api: ConsoleApi) -> None:
    rec = await add_recording(api.db, api.recordings, await add_call(api.db), seconds=1.0)
    agents, supervisors = await _audio_url(api, "agent", rec.id), await _audio_url(api, "supervisor", rec.id)
    assert (await api.client.get(agents)).status == 200
    assert (await api.client.get(supervisors)).status == 200
    assert (await api.call("POST", "/api/v1/auth/logout", "agent"))[0] == 204
    r = await api.client.get(agents, headers={"Range": "bytes=100-199"})  # the player's next range
    body = await r.json()
    assert r.status == 401 and body["error_id"] == "unauthorized" and "login ended" in body["detail"]
    assert (await api.client.get(agents)).status == 401  # and it stays refused
    # Another user's ticket is theirs: it plays on, until an admin deactivates that user.
    assert (await api.client.get(supervisors, headers={"Range": "bytes=100-199"})).status == 206
    status, _ = await api.call("PATCH", "/api/v1/admin/users/user-supervisor", json={"active": False})
    assert status == 200
    assert (await api.client.get(supervisors)).status == 401


async def test_a_socket_ticket_opens_nothing_once_its_login_ends(api: ConsoleApi) -> None:
    tickets = []
    for _ in range(2):
        status, body = await api.call("POST", f"{BASE}/socket-tickets", "supervisor", json={})
        assert status == 201
        tickets.append(body["ticket"])
    async with api.client.ws_connect(f"{BASE}/sockets/wallboard?ticket={tickets[0]}") as ws:
        assert "queues" in await ws.receive_json(timeout=5)
    assert (await api.call("POST", "/api/v1/auth/logout", "supervisor"))[0] == 204
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.client.ws_connect(f"{BASE}/sockets/wallboard?ticket={tickets[1]}")
    assert refused.value.status == 401
    # The configuration's admin token is no session: its tickets hold while the token does.
    status, body = await api.call("POST", f"{BASE}/socket-tickets", "admin", json={})
    async with api.client.ws_connect(f"{BASE}/sockets/wallboard?ticket={body['ticket']}") as ws:
        assert "agents" in await ws.receive_json(timeout=5)
