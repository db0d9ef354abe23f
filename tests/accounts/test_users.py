"""Users: roles and departments checked, usernames unique, passwords hashed, and a change of rights
logs the user out everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcore.accounts import departments, users
from callcore.accounts.models import UserSession
from callcore.accounts.passwords import verify_password
from callcore.accounts.sessions import SessionAuth
from callcore.core.errors import Conflict, InvalidInput, NotFound
from callcore.store.db import Database

PASSWORD = "long enough password"


def _field(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return str(exc.value.details[0]["field"])


async def test_create_checks_role_and_department(db: Database) -> None:
    dep = await departments.create_department(db, code="a", name="甲单位")
    u = await users.create_user(db, username="zhang", password=PASSWORD, role="handler", department_id=dep.id)
    assert u.active and u.department_id == dep.id and verify_password(u.password_hash, PASSWORD)
    assert PASSWORD not in u.password_hash
    with pytest.raises(Conflict):
        await users.create_user(db, username="zhang", password=PASSWORD, role="agent")
    with pytest.raises(InvalidInput) as bad:
        await users.create_user(db, username="li", password=PASSWORD, role="handler")
    assert _field(bad) == "department_id"
    with pytest.raises(InvalidInput) as bad:
        await users.create_user(db, username="li", password=PASSWORD, role="agent", department_id="nope")
    assert _field(bad) == "department_id"
    with pytest.raises(InvalidInput) as bad:
        await users.create_user(db, username="li", password=PASSWORD, role="pope")
    assert _field(bad) == "role"
    assert [x.username for x in await users.list_users(db)] == ["zhang"]


async def test_update_and_rights_change_revokes_sessions(db: Database) -> None:
    dep = await departments.create_department(db, code="a", name="甲单位")
    u = await users.create_user(db, username="wang", password=PASSWORD, role="agent", name="王")
    auth = SessionAuth(db)
    got = await auth.login("wang", PASSWORD)
    assert got is not None
    token = got[0]
    # A new name is not a change of rights: the session stays.
    assert (await users.update_user(db, u.id, name="王五")).name == "王五"
    assert await auth.authenticate(token) is not None
    changed = await users.update_user(db, u.id, role="handler", department_id=dep.id)
    assert (changed.role, changed.department_id) == ("handler", dep.id)
    assert await auth.authenticate(token) is None
    async with db.session() as s:
        assert list(await s.scalars(select(UserSession.revoked))) == [True]
    # "" removes the department, which a handler cannot do without.
    with pytest.raises(InvalidInput):
        await users.update_user(db, u.id, department_id="")
    changed = await users.update_user(db, u.id, role="agent", department_id="")
    assert changed.department_id is None
    for bad in ("nope", "nul\x00"):
        with pytest.raises(NotFound):
            await users.update_user(db, bad, name="x")
