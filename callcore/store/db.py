"""The engine and session factory for SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# What a database outage looks like from SQLAlchemy and the drivers; callers retry on these.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    # The pool had no connection to give in time (every one busy: the database is too slow to keep up).
    PoolTimeout,
    OperationalError,
    InterfaceError,
    DBAPIError,
    OSError,
    ConnectionError,
    asyncio.TimeoutError,
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    """Owns the async engine; ``session()`` yields a session in a transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("postgresql"):
            # A server restart leaves dead connections in the pool; the ping finds them before a query
            # does. An SQLite connection is a file handle that cannot go stale, so it is not pinged (the
            # ping is a round trip to aiosqlite's thread on every checkout).
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"timeout": 5, "command_timeout": 15}
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except OUTAGE_ERRORS:
            return False

    async def close(self) -> None:
        await self.engine.dispose()
