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
