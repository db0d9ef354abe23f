"""Login sessions: only the token's hash is stored; expired, revoked or inactive means no principal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from callcore.accounts import departments, users
from callcore.accounts.models import User, UserSession
from callcore.accounts.sessions import SessionAuth, token_hash
from callcore.store.base import utcnow
from callcore.store.db import Database

PASSWORD = "long enough password"


async def test_login_authenticate_logout(db: Database) -> None:
    dep = await departments.create_department(db, code="a", name="甲单位")
    await users.create_user(db, username="zhao", password=PASSWORD, role="handler", name="赵", department_id=dep.id)
    auth = SessionAuth(db, hours=2)
    assert await auth.login("zhao", "wrong password") is None
    assert await auth.login("ghost", PASSWORD) is None
    got = await auth.login("zhao", PASSWORD)
    assert got is not None
    token, expires, user = got
    assert timedelta(hours=1, minutes=59) < expires - utcnow() <= timedelta(hours=2)
    async with db.session() as s:
        assert list(await s.scalars(select(UserSession.token_hash))) == [token_hash(token)]
    who = await auth.authenticate(token)
    assert who is not None and (who.user_id, who.name, who.role, who.department_id) == (user.id, "赵", "handler", dep.id)
    assert await auth.authenticate("x" * 201) is None
    await auth.logout(token)
    assert await auth.authenticate(token) is None


async def test_expired_and_inactive(db: Database) -> None:
    u = await users.create_user(db, username="qian", password=PASSWORD, role="agent")
    auth = SessionAuth(db)
    first = await auth.login("qian", PASSWORD)
    assert first is not None
    async with db.session() as s:
        await s.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await auth.authenticate(first[0]) is None
    # The next login clears the user's expired sessions.
    second = await auth.login("qian", PASSWORD)
    assert second is not None and await auth.authenticate(second[0]) is not None
    async with db.session() as s:
        assert list(await s.scalars(select(UserSession.token_hash))) == [token_hash(second[0])]
        await s.execute(update(User).where(User.id == u.id).values(active=False))
    assert await auth.authenticate(second[0]) is None
    assert await auth.login("qian", PASSWORD) is None
