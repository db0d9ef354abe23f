"""Users with roles and departments, managed by admins (A-1)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts import departments
from callcore.accounts.models import User
from callcore.accounts.passwords import hash_password
from callcore.accounts.sessions import revoke_sessions
from callcore.core.errors import Conflict, InvalidInput, NotFound
from callcore.core.identity import HANDLER, ROLES
from callcore.core.sockets import SessionSockets
from callcore.store.db import Database


def _bad(field: str, message: str, text: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", text=f"{field}：{text}",
                        details=[{"field": field, "in": "body", "message": text, "detail": message}])


async def _check(db: Database, role: str, department_id: str | None) -> None:
    if role not in ROLES:
        raise _bad("role", f"must be one of {', '.join(ROLES)}", f"应为以下之一：{'、'.join(ROLES)}")
    if role == HANDLER and not department_id:
        raise _bad("department_id", "a department handler needs a department", "承办单位用户须指定所属单位")
    if department_id and not await departments.exists(db, department_id):
        raise _bad("department_id", f"unknown department {department_id!r}", "没有这个单位")


async def create_user(db: Database, *, username: str, password: str, role: str, name: str = "",
                      department_id: str | None = None, mobile: str = "") -> User:
    await _check(db, role, department_id)
    user = User(id=str(uuid.uuid4()), username=username, name=name, role=role, department_id=department_id,
                password_hash=hash_password(password), active=True, mobile=mobile)
    try:
        async with db.session() as s:
            s.add(user)
    except IntegrityError:
        raise Conflict(f"username {username!r} is taken", text=f"用户名 {username} 已被使用") from None
    return user


async def update_user(db: Database, user_id: str, *, name: str | None = None, role: str | None = None,
                      department_id: str | None = None, active: bool | None = None,
                      password: str | None = None, mobile: str | None = None,
                      sockets: SessionSockets | None = None) -> User:
    """Changes the fields given (None leaves a field as it is; ``department_id=""`` removes the
    department). When the user's rights change (deactivated, new password, role or department)
    the user's sessions are revoked in the same transaction: logged out everywhere, and, once that is
    committed, the live feeds they opened (held in ``sockets``) closed."""
    revoked = False
    async with db.session() as s:
        user = None if "\x00" in user_id else await s.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found", text="没有这个用户")
        new_role = role or user.role
        new_dep = department_id if department_id is not None else user.department_id
        await _check(db, new_role, new_dep or None)
        user.role, user.department_id = new_role, new_dep or None
        if name is not None:
            user.name = name
        if mobile is not None:
            user.mobile = mobile
        if active is not None:
            user.active = active
        if password:
            user.password_hash = hash_password(password)
        if active is False or password or role or department_id is not None:
            await revoke_sessions(s, user.id)
            revoked = True
    if revoked and sockets is not None:
        sockets.end_user(user.id)
    return user


async def handler_mobiles(s: AsyncSession, department_id: str) -> list[str]:
    """The mobiles of a department's active handlers, where its SMS notices go (W-17)."""
    rows = await s.scalars(select(User.mobile).where(User.department_id == department_id, User.role == HANDLER,
                                                     User.active.is_(True), User.mobile != "")
                           .order_by(User.username))
    return list(dict.fromkeys(rows))


async def list_users(db: Database) -> list[User]:
    async with db.session() as s:
        return list(await s.scalars(select(User).order_by(User.username)))
