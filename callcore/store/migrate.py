"""``callcore db upgrade``: Alembic migrations from ``db/`` against the configured URL."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(os.environ.get("CALLCORE_MIGRATIONS") or Path(__file__).resolve().parents[2] / "db")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade_sync(url: str, revision: str) -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Runs in a thread: Alembic's env starts its own event loop for the async engine."""
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_upgrade_sync, url, revision)
