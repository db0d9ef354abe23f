"""The citizens' status lookup by query code (查询码): anyone may key a code, so the answer holds
no personal data; the reply is shown only to whoever also gives the caller's phone number (whole
or its last 4 digits), and even then with numbers in it masked.

A citizen who lost the code looks up by the whole phone number plus the last 6 characters of the
ID-card number given with the ticket: the same view, for each such ticket. Any miss (unknown number,
a number that filed nothing with an ID card, a wrong tail) is the same "not found", so the lookup
cannot tell whether a number ever called."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from callcore.core.errors import NotFound
from callcore.core.privacy import scrub
from callcore.store.db import Database
from callcore.tickets import phones
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
        raise NotFound("no ticket with this query code", text="没有这个查询码的工单")
    t, category = row
    return _view(t, category, phone_matches(t.phone, phone))


# The newest tickets an identity lookup shows.
IDENTITY_LIMIT = 10


def phone_forms(phone: str) -> list[str]:
    """The stored form of the number (``phones.normalise``), and the number as keyed, for tickets
    stored before numbers were normalised."""
    try:
        stored = phones.normalise(phone)
    except phones.BadPhone:
        stored = ""
    return sorted({phone.strip(), stored} - {""})


async def by_identity(db: Database, phone: str, id_tail: str) -> list[CitizenView]:
    """The tickets filed with this phone and an ID card ending in ``id_tail`` (newest first), as a
    citizen who gave the matching phone sees them; ``NotFound``, always the same, otherwise."""
    tail = id_tail.upper()
    async with db.session() as s:
        rows = (await s.execute(
            select(Ticket, Category.name).join(Category, Category.code == Ticket.category)
            .where(Ticket.phone.in_(phone_forms(phone)), Ticket.id_card != "")
            .order_by(Ticket.received_at.desc()).limit(200))).all()
    found = [_view(t, category, True) for t, category in rows if t.id_card.upper().endswith(tail)]
    if not found:
        raise NotFound("no ticket for this phone and ID card", text=NOT_FOUND_TEXT)
    return found[:IDENTITY_LIMIT]


NOT_FOUND_TEXT = "没有找到符合条件的工单，请核对电话号码和身份证号后六位"


def _view(t: Ticket, category: str, matched: bool) -> CitizenView:
    return CitizenView(
        query_code=t.query_code, status=t.status, status_text=STATUS_TEXT.get(t.status, t.status), category=category,
        received_on=local_date(t.received_at), due_date=t.due_date,
        closed_on=local_date(t.closed_at) if t.closed_at else None,
        reply=scrub(t.reply) if matched and t.reply else None)
