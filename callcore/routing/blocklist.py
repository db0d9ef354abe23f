"""Numbers refused by policy (T-15): the list supervisors keep, read by the routing policy."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
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


class EntryIds:
    """Opaque ids that let a list of blocked numbers show them masked (A-2) and still name each one
    for unblocking: an HMAC of the number under a key drawn when the daemon starts, so the whole number
    cannot be recovered from the id (phone numbers are too few to hide behind a plain hash). Ids are
    stable while the daemon runs; after a restart a client lists again."""

    PATTERN = re.compile(r"^b[0-9a-f]{32}$")

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def of(self, number: str) -> str:
        return "b" + hmac.new(self._key, number.encode(), hashlib.sha256).hexdigest()[:32]

    async def number(self, db: Database, entry_id: str) -> str | None:
        """The blocked number ``entry_id`` names, or None (no such entry, or an id of another run)."""
        return next((r.number for r in await list_blocked(db) if hmac.compare_digest(self.of(r.number), entry_id)),
                    None)
