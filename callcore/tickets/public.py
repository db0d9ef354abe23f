"""The citizens' status lookup by query code (查询码): anyone may key a code, so the answer holds
no personal data; the reply is shown only to whoever also gives the caller's phone number (whole
or its last 4 digits), and even then with numbers in it masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from callcore.core.errors import NotFound
from callcore.core.privacy import scrub
from callcore.store.db import Database
from callcore.tickets.calendar import local_date
from callcore.tickets.models import Category, Ticket
from callcore.tickets.workflow import STATUS_TEXT


@dataclass(frozen=True, kw_only=True)
class CitizenView:
    query_code: str
    status: str
    status_text: str
    category: str
    received_on: date
    due_date: date
    closed_on: date | None
    reply: str | None


def phone_matches(stored: str, given: str | None) -> bool:
    """The whole number, or its last 4 digits."""
    return bool(given and stored and (stored == given or (len(given) == 4 and stored.endswith(given))))


async def status(db: Database, query_code: str, phone: str | None = None) -> CitizenView:
    """The ticket of the query code as a citizen sees it; ``NotFound`` for an unknown code."""
    async with db.session() as s:
        row = (await s.execute(select(Ticket, Category.name).join(Category, Category.code == Ticket.category)
                               .where(Ticket.query_code == query_code))).first()
    if row is None:
        raise NotFound("没有这个查询码的工单 (no ticket with this query code)")
    t, category = row
    matched = phone_matches(t.phone, phone)
    return CitizenView(
        query_code=t.query_code, status=t.status, status_text=STATUS_TEXT.get(t.status, t.status), category=category,
        received_on=local_date(t.received_at), due_date=t.due_date,
        closed_on=local_date(t.closed_at) if t.closed_at else None,
        reply=scrub(t.reply) if matched and t.reply else None)
