"""Duplicate hints (W-4): same phone, or similar content, within a window.

Chinese has no spaces, so similarity is the Dice coefficient of character bigrams (punctuation
and spaces dropped); Dice rather than Jaccard because hotline texts are short and differ in length. The comparison runs in Python over a bounded candidate set (same category in
the window, newest first) so it behaves the same on SQLite and PostgreSQL; pg_trgm was not used
because its trigram extraction ignores CJK characters under the C locale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.tickets.models import Ticket

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    t = _NOISE.sub("", text.lower())
    if len(t) < 2:
        return {t} if t else set()
    return {t[i:i + 2] for i in range(len(t) - 1)}


def similarity(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


@dataclass(frozen=True, kw_only=True)
class Candidate:
    ticket_id: str
    number: str
    reason: str  # "phone" or "content"
    score: float
    status: str
    received_at: datetime


async def find(session: AsyncSession, *, phone: str, content: str, category: str, now: datetime, window_days: int,
               threshold: float, limit: int, visible: ColumnElement[bool], exclude: str | None = None) -> list[Candidate]:
    since = now - timedelta(days=window_days)
    conds = [Ticket.category == category]
    if phone:
        conds.append(Ticket.phone == phone)
    q = (select(Ticket.id, Ticket.number, Ticket.phone, Ticket.content, Ticket.status, Ticket.received_at)
         .where(Ticket.received_at >= since, or_(*conds), visible)
         .order_by(Ticket.received_at.desc()).limit(limit))
    if exclude:
        q = q.where(Ticket.id != exclude)
    out: list[Candidate] = []
    for row in await session.execute(q):
        score = similarity(content, row.content)
        if phone and row.phone == phone:
            out.append(Candidate(ticket_id=row.id, number=row.number, reason="phone", score=round(score, 3),
                                 status=row.status, received_at=row.received_at))
        elif score >= threshold:
            out.append(Candidate(ticket_id=row.id, number=row.number, reason="content", score=round(score, 3),
                                 status=row.status, received_at=row.received_at))
    out.sort(key=lambda c: (c.reason != "phone", -c.score))
    return out[:20]
