"""The search migration (0012) indexes the tickets already stored, on both backends."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone


from callcore.core.identity import Principal
from callcore.store.db import Database
from callcore.store.migrate import upgrade
from tests.store.scratch import scratch_database
from callcore.tickets import queries
from callcore.tickets.deadlines import Deadlines
from callcore.tickets.models import Ticket
from callcore.tickets.settings import TicketSettings

AGENT = Principal(user_id="u", name="u", role="agent")


async def test_upgrade_indexes_existing_tickets(db: Database) -> None:
    async with scratch_database(db) as url:
        await upgrade(url, "0011_ticket_workflow")
        old = Database(url)
        async with old.session() as s:
            s.add(Ticket(id=str(uuid.uuid4()), number="20261201000001", query_code="12345678", category="help",
                         content="楼道路灯不亮", address="城关区张掖路", caller_name="王先生", phone="13812345678",
                         received_at=datetime(2026, 12, 1, 2, tzinfo=timezone.utc), due_date=date(2026, 12, 8)))
        await old.close()
        await upgrade(url)
        migrated = Database(url)
        dl = await Deadlines.load(migrated, TicketSettings())
        for f in (queries.TicketFilter(text="路灯"), queries.TicketFilter(text="张掖路", sort="-received_at"),
                  queries.TicketFilter(phone_tail="5678"), queries.TicketFilter(text="王先生", category="help")):
            rows, total, _ = await queries.page(migrated, AGENT, f, dl, date(2026, 12, 1))
            assert [t.number for t in rows] == ["20261201000001"] and total == 1, f
        rows, _, _ = await queries.page(migrated, AGENT, queries.TicketFilter(text="停水"), dl, date(2026, 12, 1))
        assert rows == []
        await migrated.close()
