"""An empty database beside the test's own, on the same backend: for migrating from scratch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from callcore.store.db import Database


@asynccontextmanager
async def scratch_database(db: Database) -> AsyncIterator[str]:
    """The URL of a new, empty database next to ``db`` (dropped afterwards on PostgreSQL; on SQLite a
    file in the test's folder)."""
    base, _, _ = db.url.rpartition("/")
    name = f"cc_mig_{uuid.uuid4().hex[:8]}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    if db.dialect == "postgresql":
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
    try:
        yield f"{base}/{name}" if db.dialect == "postgresql" else f"{base}/{name}.db"
    finally:
        if db.dialect == "postgresql":
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
