"""Self-service ticket status by query code (T-4), read from the tickets store.

Only what the caller may hear: status and deadline, never names or content (anyone can key a code).
The phone says what the web lookup shows: both read ``callcore.tickets.public.status``, so a deadline
rule (an extension requested but not yet approved changes nothing) lives in one place.
"""

from __future__ import annotations

from callcore.core.errors import NotFound
from callcore.ivr.types import TicketStatus
from callcore.store.db import Database

FINISHED = frozenset({"closed", "rejected", "merged", "archived"})


class StoreTicketLookup:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_query_code(self, code: str) -> TicketStatus | None:
        from callcore.tickets import public

        if not code.isdigit():
            return None
        try:
            view = await public.status(self.db, code)
        except NotFound:
            return None
        return TicketStatus(query_code=code, status=view.status, status_text=view.status_text,
                            due_date=view.due_date, closed=view.status in FINISHED)
