"""Numbers refused by policy (T-15): the list supervisors keep, read by the routing policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from callcore.routing.models import BlockedNumber
from callcore.store.db import Database


async def list_blocked(db: Database) -> Sequence[BlockedNumber]:
    """Newest first."""
    async with db.session() as s:
        return (await s.execute(select(BlockedNumber).order_by(BlockedNumber.added_at.desc()))).scalars().all()


async def blocked(db: Database, number: str, *, at: datetime) -> BlockedNumber | None:
    """The block in force on ``number`` at ``at``, or None: one primary-key read, for the screen pop's
    blacklist flag (T-8), which must say what the routing policy would decide for the same number."""
    async with db.session() as s:
        row = await s.get(BlockedNumber, number)
    return row if row is not None and (row.until is None or row.until > at) else None


async def block(db: Database, number: str, *, reason: str, by: str, until: datetime | None = None) -> BlockedNumber:
    """Adds or updates a blocked number; returns the stored row."""
    async with db.session() as s:
        row = await s.get(BlockedNumber, number)
        if row is None:
            row = BlockedNumber(number=number, reason=reason, added_by=by, until=until)
            s.add(row)
        else:
            row.reason, row.added_by, row.until = reason, by, until
        await s.flush()
        await s.refresh(row)
        return row


async def unblock(db: Database, number: str) -> bool:
    """False when the number was not blocked."""
    async with db.session() as s:
        row = await s.get(BlockedNumber, number)
        if row is None:
            return False
        await s.delete(row)
        return True
