"""The audit log: an entry is part of the transaction that reads the value; admins filter it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcore.accounts import audit
from callcore.core.identity import Principal
from callcore.store.base import utcnow
from callcore.store.db import Database

AGENT = Principal(user_id="u-agent", name="接线员", role="agent")
HANDLER = Principal(user_id="u-ha", name="甲单位", role="handler", department_id="dep-a")


class _Abort(Exception):
    pass


async def test_record_and_filter(db: Database) -> None:
    async with db.session() as s:
        audit.record(s, AGENT, action="reveal", object_type="ticket", object_id="t1", detail={"fields": ["phone"]})
    async with db.session() as s:
        audit.record(s, HANDLER, action="reveal", object_type="ticket", object_id="t2")
    rows = await audit.entries(db)
    assert [(r.user_id, r.role, r.object_id, r.detail) for r in rows] == [
        ("u-ha", "handler", "t2", {}), ("u-agent", "agent", "t1", {"fields": ["phone"]})]
    assert [r.object_id for r in await audit.entries(db, user_id="u-agent")] == ["t1"]
    assert [r.user_id for r in await audit.entries(db, object_id="t2")] == ["u-ha"]
    assert await audit.entries(db, since=utcnow() + timedelta(minutes=1)) == []
    assert [r.object_id for r in await audit.entries(db, limit=1, offset=1)] == ["t1"]


async def test_no_entry_without_its_transaction(db: Database) -> None:
    with pytest.raises(_Abort):
        async with db.session() as s:
            audit.record(s, AGENT, action="reveal", object_type="ticket", object_id="t1")
            raise _Abort
    assert await audit.entries(db) == []
