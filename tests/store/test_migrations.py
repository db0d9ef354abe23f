"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from callcore.store.db import Database
from callcore.plugins import load_models
from callcore.store.migrate import upgrade
from tests.store.scratch import scratch_database


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
    async with scratch_database(db) as url:
        await upgrade(url)
        migrated = Database(url)
        async with migrated.engine.connect() as c:
            diff = await c.run_sync(_diff)
        await migrated.close()
        assert diff == []
