"""Shared fixture of the ticket API tests: the app with users of every role logged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcore.accounts.models import User, UserSession
from callcore.accounts.sessions import token_hash
from callcore.accounts.passwords import hash_password
from callcore.api import accounts, admin, open311, public, tickets
from callcore.api.app import create_app, meta
from callcore.api.services import Services
from callcore.bus import EventBus
from callcore.calls.journal import CallJournal
from callcore.config import ApiSettings, Settings
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.models import Department
from callcore.tickets.wiring import auth_chain, setup_tickets

ADMIN_TOKEN = "test-admin-token-123"
ROUTERS = [tickets.router, accounts.router, admin.router, public.router, open311.router, meta]
PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once per test session


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    headers: dict[str, dict[str, str]]
    db: Database

    async def call(self, method: str, path: str, who: str = "admin", **kw: Any) -> tuple[int, Any]:
        r = await self.client.request(method, path, headers=self.headers[who], **kw)
        ctype = r.headers.get("Content-Type", "")
        body: Any = await r.json() if "json" in ctype else await r.read()
        return r.status, body

    async def new_ticket(self, who: str = "agent", **over: Any) -> dict[str, Any]:
        body = {"category": "complaint", "content": "小区夜间施工噪音", "phone": "13812345678",
                "id_card": "110101199003071234", "caller_name": "张先生", **over}
        status, out = await self.call("POST", "/api/v1/tickets", who, json=body)
        assert status == 201, out
        return out  # type: ignore[no-any-return]

    async def act(self, ref: str, who: str, action: str, **data: Any) -> tuple[int, Any]:
        return await self.call("POST", f"/api/v1/tickets/{ref}/actions", who, json={"action": action, **data})


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[Api]:
    settings = replace(Settings(run_dir=tmp_path), api=ApiSettings(token=ADMIN_TOKEN))
    services = Services(settings=settings, db=db, bus=EventBus(), journal=CallJournal(db, tmp_path / "spool.jsonl"))
    app = create_app(services, routers=ROUTERS, auth=auth_chain(services))
    setup_tickets(app, services)
    async with db.session() as s:
        s.add_all(Department(id=f"dep-{c}", code=c, name=f"{c}单位", active=True, contact="") for c in ("a", "b", "c"))
    users = {"agent": None, "dispatcher": None, "supervisor": None, "leader": None, "handler_a": "dep-a",
             "handler_b": "dep-b"}
    headers = {"admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"}, "nobody": {}}
    async with TestClient(TestServer(app)) as client:
        for name, dep in users.items():
            # Sessions are made directly (login is tested in test_accounts): Argon2 verification is slow.
            token = f"token-of-{name}"
            async with db.session() as s:
                s.add(User(id=f"user-{name}", username=name, name=name, role=name.split("_")[0], department_id=dep,
                           password_hash=PASSWORD_HASH, active=True))
                await s.flush()
                s.add(UserSession(token_hash=token_hash(token), user_id=f"user-{name}", created_at=utcnow(),
                                  expires_at=utcnow() + timedelta(hours=1), revoked=False))
            headers[name] = {"Authorization": f"Bearer {token}"}
        yield Api(client=client, headers=headers, db=db)
