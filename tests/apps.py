"""The one way tests build the API: a context on the test store and the plugins under test, built as
the daemon builds them (``build_plugins``, ``build_app``), behind aiohttp's test server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from callcore.api.auth import Authenticator
from callcore.api.router import AUTH_KEY
from callcore.ami.client import AmiClient
from callcore.ari.client import AriClient
from callcore.config import ApiSettings, Settings
from callcore.core.context import AppContext
from callcore.core.identity import Principal
from callcore.daemon import build_app, build_plugins
from callcore.plugin import Plugin
from callcore.store.db import Database

ADMIN_TOKEN = "test-admin-token-123"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def context(db: Database, tmp_path: Path, **settings: Any) -> AppContext:
    """A context as the daemon makes it; its ARI and AMI clients are never connected (no Asterisk here)."""
    s = replace(Settings(run_dir=tmp_path, **settings), api=ApiSettings(token=ADMIN_TOKEN))
    ctx = AppContext(settings=s, db=db)
    ast = s.asterisk
    ctx.provide(AriClient(ast.ari_url, ast.ari_user, ast.ari_password, ast.app))
    ctx.provide(AmiClient(ast, on_event=lambda e: None))
    return ctx


@asynccontextmanager
async def api_client(ctx: AppContext, plugins: Sequence[type[Plugin]], *,
                     authenticators: Sequence[Authenticator] = ()) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """The API of ``plugins`` on ``ctx``; ``authenticators`` stand in for users' login sessions."""
    app = build_app(ctx, build_plugins(ctx, plugins))
    app[AUTH_KEY].authenticators.extend(authenticators)
    async with TestClient(TestServer(app)) as client:
        yield client
    await ctx.get(AriClient).close()


AGENT = {"Authorization": "Bearer agent-token"}


class AgentAuth:
    """An agent's login session without the accounts capability: the token ``agent-token``."""

    async def authenticate(self, token: str) -> Principal | None:
        return Principal(user_id="u7", name="接线员", role="agent") if token == "agent-token" else None
