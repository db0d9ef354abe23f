"""The whole API (every capability the daemon runs) with a user of every role logged in: the edge
tests (errors, odd inputs) run against what a client really reaches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcore.plugins import plugin_classes
from callcore.store.db import Database
from tests.accounts.staff import Api, staff_api
from tests.apps import context
from tests.console.test_serving import built


@pytest.fixture
async def app(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    # A built console of the test's own: whether the repository's console/dist exists depends on what
    # ran before (tests/console builds it), and without it every console page is the 503 "not built".
    monkeypatch.setenv("CALLCORE_CONSOLE_DIR", str(built(tmp_path / "console-dist")))
    ctx = context(db, tmp_path)
    async with staff_api(db, tmp_path, plugin_classes(), Api, ctx=ctx) as staff:
        yield staff
