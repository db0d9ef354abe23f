"""The accounts plugin provides the session store and puts it in the API's authenticators."""

from __future__ import annotations

from pathlib import Path

from callcore.accounts.plugin import AccountsPlugin
from callcore.accounts.sessions import SessionAuth
from callcore.daemon import build_plugins
from callcore.store.db import Database
from tests.apps import context


async def test_sessions_are_provided_and_authenticate(db: Database, tmp_path: Path) -> None:
    ctx = context(db, tmp_path)
    [plugin] = build_plugins(ctx, [AccountsPlugin])
    sessions = ctx.get(SessionAuth)
    assert list(plugin.authenticators()) == [sessions]
    assert sessions.ttl.total_seconds() == ctx.settings.tickets.session_hours * 3600
    assert await sessions.authenticate("no-such-token") is None
