"""Self-service ticket status by query code (T-4), read from the tickets store.

Only what the caller may hear: status and deadline, never names or content (anyone can key a code).
"""

from __future__ import annotations

from sqlalchemy import select

from callcore.ivr.types import TicketStatus
from callcore.store.db import Database

FINISHED = frozenset({"closed", "rejected", "merged", "archived"})


class StoreTicketLookup:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_query_code(self, code: str) -> TicketStatus | None:
        from callcore.tickets.models import Ticket
        from callcore.tickets.workflow import STATUS_TEXT

        if not code.isdigit():
            return None
        async with self.db.session() as s:
            row = (await s.execute(
                select(Ticket.status, Ticket.due_date, Ticket.extension_until).where(Ticket.query_code == code)
            )).first()
        if row is None:
            return None
        status, due, extended = row
        return TicketStatus(query_code=code, status=status, status_text=STATUS_TEXT.get(status, "办理中"),
                            due_date=extended or due, closed=status in FINISHED)
