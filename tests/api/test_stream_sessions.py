"""A live feed is the login's it opened with (issue 11): when that login ends (logged out, revoked by
an admin disabling the user, expired) the daemon closes the feed with 4401, whether it was opened
with the bearer token or with a console socket ticket; other logins' feeds go on, and a change that
keeps the user's rights (a new name) closes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import WSMsgType
from sqlalchemy import update

from callcore.accounts.models import UserSession
from callcore.api import stream
from callcore.api.router import AUTH_KEY, CONTEXT
from callcore.core.context import AppContext
from callcore.core.identity import Principal
from callcore.core.sockets import SESSION_ENDED, SessionSockets
from callcore.store.base import utcnow
from tests.accounts.staff import Api
from tests.apps import ADMIN
from tests.polling import until

STREAM = "/api/v1/events/stream"


def context_of(app: Api) -> AppContext:
    return app.client.app[CONTEXT]


async def close_code(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> int | None:
    """Reads the feed (a wallboard sends every second) until the daemon closes it, bounded; the code."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.CLOSE:
                return int(msg.data)
            if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return ws.close_code


async def still_open(app: Api, ws: aiohttp.ClientWebSocketResponse, call_id: str) -> None:
    """An event published now reaches the feed (after what it has not read yet): it is open and sending."""
    context_of(app).bus.publish({"kind": "call_event", "call_id": call_id, "type": "test", "data": {}})
    async with asyncio.timeout(5):
        while (await ws.receive_json())["call_id"] != call_id:
            pass


async def held(app: Api, count: int) -> None:
    """Waits until ``count`` feeds are held under logins (each is, once its socket is open)."""
    sockets = context_of(app).get(SessionSockets)
    await until(lambda: len(sockets) == count, f"{count} feeds held")


async def test_a_feed_closes_with_4401_when_its_login_logs_out_and_others_go_on(app: Api) -> None:
    async with app.client.ws_connect(STREAM, headers=app.headers["supervisor"]) as ws, \
            app.client.ws_connect(STREAM, headers=ADMIN) as other:
        await held(app, 2)
        assert (await app.call("POST", "/api/v1/auth/logout", "supervisor"))[0] == 204
        assert await close_code(ws) == SESSION_ENDED
        assert ws.closed
        await still_open(app, other, "c-after-logout")
        await held(app, 1)


async def test_a_feed_closes_with_4401_when_an_admin_disables_its_user(app: Api) -> None:
    async with app.client.ws_connect(STREAM, headers=app.headers["supervisor"]) as ws, \
            app.client.ws_connect(STREAM, headers=ADMIN) as other:
        await held(app, 2)
        # A new name changes no right: the sessions and the feed stay.
        assert (await app.call("PATCH", "/api/v1/admin/users/user-supervisor", json={"name": "班长钱"}))[0] == 200
        await still_open(app, ws, "c-renamed")
        status, body = await app.call("PATCH", "/api/v1/admin/users/user-supervisor", json={"active": False})
        assert status == 200 and body["active"] is False
        assert await close_code(ws) == SESSION_ENDED
        await still_open(app, other, "c-after-disable")


async def test_a_feed_a_socket_ticket_opened_closes_when_the_login_behind_it_logs_out(app: Api) -> None:
    status, body = await app.call("POST", "/api/v1/console/socket-tickets", "supervisor", json={})
    assert status == 201
    async with app.client.ws_connect(f"/api/v1/console/sockets/wallboard?ticket={body['ticket']}") as ws:
        assert "queues" in await ws.receive_json(timeout=5)
        await held(app, 1)
        assert (await app.call("POST", "/api/v1/auth/logout", "supervisor"))[0] == 204
        assert await close_code(ws) == SESSION_ENDED


async def test_a_feed_notices_its_login_expired(app: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "RECHECK_SECONDS", 0.05)
    chain = app.client.app[AUTH_KEY]
    checks: list[str] = []
    authenticate = chain.authenticate

    async def counted(token: str) -> Principal | None:
        checks.append(token)
        return await authenticate(token)

    monkeypatch.setattr(chain, "authenticate", counted)
    async with app.client.ws_connect(STREAM, headers=app.headers["supervisor"]) as ws:
        await held(app, 1)
        # A login that holds is checked again and again, and its feed goes on.
        opened = len(checks)
        await until(lambda: len(checks) >= opened + 3, "three checks of the feed's login")
        await still_open(app, ws, "c-still-valid")
        async with app.db.session() as s:
            await s.execute(update(UserSession).where(UserSession.user_id == "user-supervisor")
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        assert await close_code(ws) == SESSION_ENDED


async def test_an_api_key_opens_no_feed(app: Api) -> None:
    status, body = await app.call("POST", "/api/v1/admin/api-keys", json={"name": "城管平台", "scopes": ["read"]})
    assert status == 201
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await app.client.ws_connect(STREAM, headers={"Authorization": f"Bearer {body['key']}"})
    assert refused.value.status == 401
