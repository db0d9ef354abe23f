"""The menu versions in the store: read them, add one (numbered per menu). Versions are never changed."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from callcore.ivr.models import MenuVersion
from callcore.store.db import Database


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def latest(db: Database, menu: str) -> MenuVersion | None:
    async with db.session() as s:
        return (await s.execute(
            select(MenuVersion).where(MenuVersion.menu == menu).order_by(MenuVersion.version.desc()).limit(1)
        )).scalar_one_or_none()


async def get(db: Database, menu: str, version: int) -> MenuVersion | None:
    async with db.session() as s:
        return (await s.execute(
            select(MenuVersion).where(MenuVersion.menu == menu, MenuVersion.version == version)
        )).scalar_one_or_none()


async def list_versions(db: Database, menu: str) -> list[MenuVersion]:
    async with db.session() as s:
        rows = await s.execute(select(MenuVersion).where(MenuVersion.menu == menu).order_by(MenuVersion.version.desc()))
        return list(rows.scalars())


async def menus(db: Database) -> list[str]:
    async with db.session() as s:
        return list((await s.execute(select(MenuVersion.menu).distinct().order_by(MenuVersion.menu))).scalars())


async def add(
    db: Database, *, menu: str, source: str, label: str, author: str, origin: str, comment: str = "",
    based_on: int | None = None,
) -> MenuVersion:
    """Store a new version numbered one past the latest; retried once if another writer took the number."""
    for attempt in (1, 2):
        try:
            async with db.session() as s:
                top = (await s.execute(select(func.max(MenuVersion.version)).where(MenuVersion.menu == menu))).scalar()
                row = MenuVersion(menu=menu, version=(top or 0) + 1, label=label[:64], source=source,
                                  sha256=sha256(source), author=author[:128], origin=origin, comment=comment[:256],
                                  based_on=based_on)
                s.add(row)
            return row
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
