"""The calls an agent may see: the calls of the queues they serve and the calls they took (A-1).

The call list is the agent's own work (a citizen who rang off, a call to write a ticket about);
the rest of the hotline's calls, with their numbers, are not theirs to browse.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select

from callcore.calls.models import Call
from callcore.core.identity import Principal
from callcore.queues.catalog import QueueCatalog
from callcore.queues.models import Agent
from callcore.store.db import Database


class AgentCalls:
    def __init__(self, db: Database, catalog: QueueCatalog) -> None:
        self.db = db
        self.catalog = catalog

    async def __call__(self, who: Principal) -> ColumnElement[bool]:
        async with self.db.session() as s:
            number = await s.scalar(select(Agent.number).where(Agent.user_id == who.user_id))
        if number is None:
            return false()  # a user without an agent number takes no calls
        queues = [q.name for q in self.catalog.all() if any(m.agent_id == number for m in q.members)]
        return or_(Call.agent == number, Call.queue.in_(queues)) if queues else Call.agent == number
