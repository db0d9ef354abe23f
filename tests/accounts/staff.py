"""The API with a user of every role logged in, built through ``tests.apps`` (the one builder):
departments dep-a, dep-b and dep-c, handlers of dep-a and dep-b, the admin token as "admin" and no
token as "nobody"."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient

from callcore.accounts.models import Department, User, UserSession
from callcore.accounts.passwords import hash_password
from callcore.accounts.sessions import token_hash
from callcore.core.context import AppContext
from callcore.plugin import Plugin
from callcore.store.base import utcnow
from callcore.store.db import Database
from tests.apps import ADMIN, api_client, context

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once per test session
USERS = {"agent": None, "dispatcher": None, "supervisor": None, "leader": None, "handler_a": "dep-a",
         "handler_b": "dep-b"}


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    headers: dict[str, dict[str, str]]
    db: Database

    async def call(self, method: str, path: str, who: str = "admin", **kw: Any) -> tuple[int, Any]:
        kw["headers"] = {**self.headers[who], **kw.get("headers", {})}
        r = await self.client.request(method, path, **kw)
        ctype = r.headers.get("Content-Type", "")
        body: Any = await r.json() if "json" in ctype else await r.read()
        return r.status, body


A = TypeVar("A", bound=Api)


@asynccontextmanager
async def staff_api(db: Database, tmp_path: Path, plugins: Sequence[type[Plugin]], kind: type[A], *,
                    ctx: AppContext | None = None) -> AsyncIterator[A]:
    """The API of ``plugins`` as a ``kind`` (``Api`` or a subclass with a capability's helpers), on
    ``ctx`` when the caller prepared one (e.g. with an AMI client for the queues)."""
    async with db.session() as s:
        s.add_all(Department(id=f"dep-{c}", code=c, name=f"{c}单位", active=True, contact="") for c in ("a", "b", "c"))
    headers = {"admin": ADMIN, "nobody": {}}
    async with api_client(ctx or context(db, tmp_path), plugins) as client:
        for name, dep in USERS.items():
            # Sessions are made directly (login is tested in tests/accounts/test_http.py): Argon2 verification is slow.
            token = f"token-of-{name}"
            async with db.session() as s:
                s.add(User(id=f"user-{name}", username=name, name=name, role=name.split("_")[0], department_id=dep,
                           password_hash=PASSWORD_HASH, active=True))
                await s.flush()
                s.add(UserSession(token_hash=token_hash(token), user_id=f"user-{name}", created_at=utcnow(),
                                  expires_at=utcnow() + timedelta(hours=1), revoked=False))
            headers[name] = {"Authorization": f"Bearer {token}"}
        yield kind(client=client, headers=headers, db=db)
