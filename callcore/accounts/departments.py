"""Departments (分中心): the street offices, departments and utilities tickets are dispatched to.

Admins create and change them; a department is never deleted (tickets and users point at it),
it is made inactive instead.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callcore.accounts.models import Department
from callcore.core.errors import Conflict, NotFound
from callcore.store.base import utcnow
from callcore.store.db import Database


async def list_departments(db: Database) -> list[Department]:
    """Every department, active or not, by code."""
    async with db.session() as s:
        return list(await s.scalars(select(Department).order_by(Department.code)))


async def create_department(db: Database, *, code: str, name: str, contact: str = "") -> Department:
    """A new active department; ``Conflict`` when the code is taken."""
    department = Department(id=str(uuid.uuid4()), code=code, name=name, contact=contact, active=True,
                            created_at=utcnow())
    try:
        async with db.session() as s:
            s.add(department)
    except IntegrityError:
        raise Conflict(f"department code {code!r} is taken", text=f"单位编码 {code} 已被使用") from None
    return department


async def update_department(db: Database, department_id: str, *, name: str | None = None,
                            contact: str | None = None, active: bool | None = None) -> Department:
    """Changes the fields given (None leaves a field as it is); ``NotFound`` for an unknown id."""
    async with db.session() as s:
        # PostgreSQL refuses NUL in text: such an id matches nothing.
        department = None if "\x00" in department_id else await s.get(Department, department_id)
        if department is None:
            raise NotFound(f"department {department_id} not found", text="没有这个单位")
        if name is not None:
            department.name = name
        if contact is not None:
            department.contact = contact
        if active is not None:
            department.active = active
        return department


async def exists(db: Database, department_id: str) -> bool:
    async with db.session() as s:
        return await s.get(Department, department_id) is not None


async def names(db: Database) -> dict[str, str]:
    """Department id -> name, for documents that show names (exports, transfer slips)."""
    async with db.session() as s:
        return {d.id: d.name for d in await s.scalars(select(Department))}
