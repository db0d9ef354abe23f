"""Fixtures of the accounts tests: the accounts API with a user of every role logged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcore.accounts.plugin import AccountsPlugin
from callcore.store.db import Database
from tests.accounts.staff import Api, staff_api


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[Api]:
    async with staff_api(db, tmp_path, [AccountsPlugin], Api) as staff:
        yield staff
