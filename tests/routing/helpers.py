"""Rows the routing and self-service tests need: calls and tickets."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from callcore.calls.models import Call
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.models import Category, Ticket


async def add_calls(db: Database, number: str, n: int, *, ago: timedelta = timedelta(minutes=5)) -> None:
    async with db.session() as s:
        for _ in range(n):
            s.add(Call(id=str(uuid.uuid4()), channel_id=uuid.uuid4().hex, caller_number=number,
                       arrived_at=utcnow() - ago, attributes={}))


async def add_ticket(db: Database, *, phone: str, status: str = "processing", query_code: str = "12345678",
                     due: date = date(2026, 12, 1), received: datetime | None = None) -> None:
    async with db.session() as s:
        if await s.get(Category, "consultation") is None:
            s.add(Category(code="consultation", name="咨询", limit_days=5))
            await s.flush()
        s.add(Ticket(id=str(uuid.uuid4()), number=f"T{uuid.uuid4().hex[:10]}", query_code=query_code, phone=phone,
                     category="consultation", received_at=received or utcnow(), status=status, due_date=due))
