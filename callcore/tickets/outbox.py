"""The notification outbox (W-17): messages are rows written in the transaction of the event
that causes them, then delivered by a relay through a pluggable sender, with retries and a
capped exponential backoff. A message leaves the outbox only when the sender accepted it, so
nothing is lost while the sender (SMS gateway, webhook) is down.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.core.privacy import scrub
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database
from callcore.tickets.models import OutboxMessage

log = logging.getLogger(__name__)


class SendError(Exception):
    """The sender could not deliver; the message stays in the outbox and is retried."""


RETRY_ERRORS: tuple[type[BaseException], ...] = (SendError, *OUTAGE_ERRORS)


class Sender(Protocol):
    async def send(self, message: OutboxMessage) -> None: ...


def enqueue(session: AsyncSession, *, kind: str, recipient: str, body: str, ticket_id: str | None = None,
            payload: dict[str, Any] | None = None, now: datetime | None = None) -> OutboxMessage:
    """Adds a message to the caller's transaction: it exists if and only if the event commits."""
    msg = OutboxMessage(id=str(uuid.uuid4()), kind=kind, recipient=recipient, body=body, ticket_id=ticket_id,
                        payload=payload or {}, created_at=now or utcnow(), next_attempt_at=now or utcnow(),
                        attempts=0, last_error="")
    session.add(msg)
    return msg


def backoff(attempts: int, *, base: float = 5.0, cap: float = 3600.0) -> timedelta:
    """5 s, 10 s, 20 s ... capped at an hour; delivery is retried for ever, never dropped."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


class OutboxRelay:
    """Delivers due messages. Several relays may run: a claim (lease) keeps each message to one."""

    def __init__(self, db: Database, sender: Sender, *, batch: int = 50, lease_seconds: float = 60.0) -> None:
        self.db = db
        self.sender = sender
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)

    async def _claim(self, now: datetime) -> list[OutboxMessage]:
        """Leases due messages. The lease is a compare-and-set on ``next_attempt_at``, so two relays
        never both take a message, on PostgreSQL (where SKIP LOCKED also spreads the work) and on
        SQLite (where the driver reads outside the write transaction)."""
        async with self.db.session() as s:
            q = (select(OutboxMessage).where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.next_attempt_at).limit(self.batch))
            if self.db.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            claimed = []
            for m in list(await s.scalars(q)):
                res = await s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == m.id, OutboxMessage.next_attempt_at == m.next_attempt_at,
                           OutboxMessage.sent_at.is_(None))
                    .values(next_attempt_at=now + self.lease)
                    .execution_options(synchronize_session=False))
                if res.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(m)
            return claimed

    async def run_once(self, now: datetime | None = None) -> int:
        """Sends what is due; returns how many were delivered."""
        now = now or utcnow()
        delivered = 0
        for msg in await self._claim(now):
            try:
                await self.sender.send(msg)
            except RETRY_ERRORS as exc:
                attempts = msg.attempts + 1
                log.warning("outbox %s to %s failed (attempt %d): %s", msg.kind, scrub(msg.recipient), attempts,
                            scrub(str(exc)))
                async with self.db.session() as s:
                    await s.execute(update(OutboxMessage).where(OutboxMessage.id == msg.id).values(
                        attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=str(exc)[:500]))
                continue
            async with self.db.session() as s:
                await s.execute(update(OutboxMessage).where(OutboxMessage.id == msg.id).values(
                    sent_at=utcnow(), attempts=msg.attempts + 1, last_error=""))
            delivered += 1
        return delivered

    async def pending(self) -> int:
        async with self.db.session() as s:
            return int(await s.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) or 0)
