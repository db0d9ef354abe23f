"""Departments: created active with a unique code, changed field by field, never deleted."""

from __future__ import annotations

import pytest

from callcore.accounts import departments
from callcore.core.errors import Conflict, NotFound
from callcore.store.db import Database


async def test_create_list_update(db: Database) -> None:
    water = await departments.create_department(db, code="water", name="自来水公司", contact="water@sms")
    await departments.create_department(db, code="bus", name="公交集团")
    assert water.active and len(water.id) == 36
    assert [d.code for d in await departments.list_departments(db)] == ["bus", "water"]
    changed = await departments.update_department(db, water.id, active=False)
    assert (changed.name, changed.contact, changed.active) == ("自来水公司", "water@sms", False)
    changed = await departments.update_department(db, water.id, name="供水公司", contact="")
    assert (changed.name, changed.contact, changed.active) == ("供水公司", "", False)
    assert await departments.names(db) == {water.id: "供水公司", (await departments.list_departments(db))[0].id: "公交集团"}
    assert await departments.exists(db, water.id) and not await departments.exists(db, "nope")


async def test_code_taken_and_unknown_department(db: Database) -> None:
    await departments.create_department(db, code="water", name="自来水公司")
    with pytest.raises(Conflict, match="'water' is taken"):
        await departments.create_department(db, code="water", name="另一个")
    assert len(await departments.list_departments(db)) == 1
    for bad in ("nope", "nul\x00"):
        with pytest.raises(NotFound):
            await departments.update_department(db, bad, name="x")
