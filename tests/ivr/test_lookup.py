from __future__ import annotations

from datetime import date

from callcore.ivr.lookup import StoreTicketLookup
from callcore.store.db import Database

from tests.routing.helpers import add_ticket


async def test_by_query_code(db: Database) -> None:
    await add_ticket(db, phone="13800000000", query_code="20261234", due=date(2026, 12, 1))
    await add_ticket(db, phone="13800000001", query_code="55550000", status="closed")
    lookup = StoreTicketLookup(db)
    found = await lookup.by_query_code("20261234")
    assert found is not None
    assert (found.status, found.status_text, found.due_date, found.closed) == ("processing", "办理中", date(2026, 12, 1), False)
    closed = await lookup.by_query_code("55550000")
    assert closed is not None and closed.closed and closed.status_text == "已办结"
    assert await lookup.by_query_code("00000000") is None
    assert await lookup.by_query_code("12' OR 1=1") is None


async def test_a_requested_extension_does_not_change_the_deadline_heard(db: Database) -> None:
    """Issue 14: the phone said the requested (unapproved) extension; the web says the deadline in force."""
    from sqlalchemy import update

    from callcore.tickets import public
    from callcore.tickets.models import Ticket

    await add_ticket(db, phone="13800000000", query_code="20261208", due=date(2026, 12, 8))
    async with db.session() as s:
        await s.execute(update(Ticket).where(Ticket.query_code == "20261208").values(extension_until=date(2027, 2, 26)))
    found = await StoreTicketLookup(db).by_query_code("20261208")
    assert found is not None and found.due_date == date(2026, 12, 8)
    assert found.due_date == (await public.status(db, "20261208")).due_date
