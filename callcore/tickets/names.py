"""Names instead of ids (issue 14): departments found by id, code or name, categories by code or
name, and the names and numbers every ticket view shows next to the ids it holds.

People know a department as "城关区住建局" or its code, not as a UUID: dispatch and the list filters
take any of the three through ``department_id``; views carry ``Names`` for what they show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts.models import Department, User
from callcore.core.identity import SYSTEM, SYSTEM_PRINCIPAL
from callcore.store.db import Database
from callcore.tickets.errors import BadTicketInput
from callcore.tickets.models import Category, Ticket


async def find_department(s: AsyncSession, ref: str, *, field_name: str = "department_id") -> Department | None:
    """The department whose id, code or name is ``ref`` (in that order); None when none is.

    Two departments may share a name (a code may not): such a name is refused, asking for the code.
    """
    ref = ref.strip()
    if not ref or "\x00" in ref or len(ref) > 128:
        return None
    found = await s.get(Department, ref) if len(ref) <= 36 else None
    if found is not None:
        return found
    rows = list(await s.scalars(select(Department).where(or_(Department.code == ref, Department.name == ref))
                                .order_by(Department.code)))
    by_code = [d for d in rows if d.code == ref]
    if by_code:
        return by_code[0]
    if len(rows) > 1:
        raise BadTicketInput(field_name, f"有多个单位名为“{ref}”，请用单位编码：{'、'.join(d.code for d in rows)}")
    return rows[0] if rows else None


async def department_id(db: Database, ref: str, *, field_name: str = "department_id") -> str:
    """The id of a department given by id, code or name, for a list filter; an unknown one is a 400."""
    async with db.session() as s:
        d = await find_department(s, ref, field_name=field_name)
    if d is None:
        raise BadTicketInput(field_name, f"没有这个单位：{ref}")
    return d.id


async def category_code(db: Database, ref: str, *, field_name: str = "category") -> str:
    """The code of a category given by its code or its Chinese name (投诉); an unknown one is a 400."""
    async with db.session() as s:
        code = await s.scalar(select(Category.code).where(or_(Category.code == ref, Category.name == ref))
                              .order_by((Category.code == ref).desc()).limit(1))
    if code is None:
        raise BadTicketInput(field_name, f"没有这个类别：{ref}")
    return str(code)


@dataclass(frozen=True, kw_only=True)
class Names:
    """Display names of the ids a view holds: departments, users, categories, ticket numbers."""

    departments: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)

    def department(self, department_id: str | None) -> str | None:
        return None if department_id is None else self.departments.get(department_id, department_id)

    def user(self, user_id: str | None) -> str | None:
        return None if not user_id else self.users.get(user_id)

    def category(self, code: str) -> str:
        return self.categories.get(code, code)

    def ticket(self, ticket_id: str | None) -> str | None:
        return None if ticket_id is None else self.tickets.get(ticket_id)


async def load(db: Database, *, users: Iterable[str | None] = (), tickets: Iterable[str | None] = ()) -> Names:
    """Every department and category (a few hundred rows at most), and the users and tickets asked for."""
    user_ids = sorted({u for u in users if u})
    ticket_ids = sorted({t for t in tickets if t})
    async with db.session() as s:
        deps = {d.id: d.name for d in await s.scalars(select(Department))}
        cats = {c.code: c.name for c in await s.scalars(select(Category))}
        people: dict[str, str] = {}
        if user_ids:
            found_users = await s.execute(select(User.id, User.name, User.username).where(User.id.in_(user_ids)))
            people = {u: name or login for u, name, login in found_users.all()}
        if SYSTEM in user_ids:
            people[SYSTEM] = SYSTEM_PRINCIPAL.name
        numbers: dict[str, str] = {}
        if ticket_ids:
            found = await s.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids)))
            numbers = {i: n for i, n in found.all()}
    return Names(departments=deps, users=people, categories=cats, tickets=numbers)
