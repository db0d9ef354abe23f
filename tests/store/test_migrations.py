"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from callcore.store.db import Database
from callcore.plugins import load_models
from callcore.store.migrate import upgrade


def _diff(conn: Connection) -> list[Any]:
    metadata = load_models()
    # Tables the database derives from a model (SQLite's FTS5 index and its shadow tables) are no models.
    unmanaged = metadata.info.get("unmanaged_tables", set())

    def modelled(name: str | None, kind: str, _parent: Any) -> bool:
        return not (kind == "table" and name in unmanaged)

    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": modelled})
    return list(compare_metadata(ctx, metadata))


async def test_upgrade_head_matches_the_models(db: Database) -> None:
    # The fixture's database was built by create_all: migrate a fresh one beside it.
    base, _, _ = db.url.rpartition("/")
    name = f"cc_mig_{uuid.uuid4().hex[:8]}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    if db.dialect == "postgresql":
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
    url = f"{base}/{name}" if db.dialect == "postgresql" else f"{base}/{name}.db"
    try:
        await upgrade(url)
        migrated = Database(url)
        async with migrated.engine.connect() as c:
            diff = await c.run_sync(_diff)
        await migrated.close()
        assert diff == []
    finally:
        if db.dialect == "postgresql":
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
