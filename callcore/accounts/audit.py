"""The audit log of whole personal values viewed (A-2); admins read it through the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts.models import AuditEntry
from callcore.core.identity import Principal
from callcore.store.base import utcnow
from callcore.store.db import Database


def record(session: AsyncSession, who: Principal, *, action: str, object_type: str, object_id: str,
           detail: dict[str, Any] | None = None) -> None:
    """Adds the entry to the transaction that reads the value: no view without its audit row."""
    session.add(AuditEntry(id=str(uuid.uuid4()), at=utcnow(), user_id=who.user_id, role=who.role, action=action,
                           object_type=object_type, object_id=object_id, detail=detail or {}))


async def entries(db: Database, *, since: datetime | None = None, user_id: str | None = None,
                  object_id: str | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    q = select(AuditEntry)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if user_id:
        q = q.where(AuditEntry.user_id == user_id)
    if object_id:
        q = q.where(AuditEntry.object_id == object_id)
    async with db.session() as s:
        return list(await s.scalars(q.order_by(AuditEntry.at.desc(), AuditEntry.id).limit(limit).offset(offset)))
