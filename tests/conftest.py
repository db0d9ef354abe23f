"""Shared fixtures: the store on SQLite and on PostgreSQL (both, always: no skip)."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import text

from callcore.store.db import Database
from callcore.plugins import load_models

PG_ADMIN_DSN = os.environ.get("CALLCORE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, with the schema of every model."""
    import asyncio

    name = f"cc_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        db = Database(_pg_url(name))
        async with db.engine.begin() as c:
            await c.run_sync(load_models().create_all)
        await db.close()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    # Session fixtures may be first requested from inside a running loop: use a thread of their own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create()).result()
        yield _pg_url(name)
        pool.submit(asyncio.run, drop()).result()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    """The store, empty, on each backend in turn."""
    metadata = load_models()
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")  # type: ignore[str-bytes-safe]
        async with database.engine.begin() as c:
            await c.run_sync(metadata.create_all)
    else:
        database = Database(request.getfixturevalue("pg_database"))
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with database.engine.begin() as c:
            await c.execute(text(f"TRUNCATE {tables} CASCADE"))
    yield database
    await database.close()
