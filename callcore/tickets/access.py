"""Who sees which ticket and which whole personal value (A-1, A-2).

A department handler sees only tickets currently dispatched to their department (as lead or
assisting); anything else answers "not found", so a ticket's existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, true

from callcore.api.auth import Principal
from callcore.tickets.models import Ticket, TicketDepartment

# "system" is the daemon's own jobs (urges, callback sampling), never a user's role.
READ_ALL = frozenset({"agent", "dispatcher", "supervisor", "leader", "admin", "system"})
# Whole values, each view audited: handlers call citizens back, so they may see the phone.
PHONE_ROLES = frozenset({"agent", "dispatcher", "supervisor", "handler", "admin"})
ID_CARD_ROLES = frozenset({"agent", "dispatcher", "supervisor", "admin"})
PERSONAL_FIELDS = {"phone": PHONE_ROLES, "id_card": ID_CARD_ROLES}


def visible_clause(who: Principal) -> ColumnElement[bool]:
    """The SQL condition a principal's ticket queries are restricted by."""
    if who.role in READ_ALL:
        return true()
    if who.role == "handler" and who.department_id:
        return exists(
            select(TicketDepartment.ticket_id).where(
                TicketDepartment.ticket_id == Ticket.id, TicketDepartment.department_id == who.department_id
            )
        )
    return Ticket.id.is_(None)  # no rows


def can_see(who: Principal, departments: list[str]) -> bool:
    if who.role in READ_ALL:
        return True
    return who.role == "handler" and who.department_id is not None and who.department_id in departments


def may_reveal(who: Principal, field: str) -> bool:
    return who.role in PERSONAL_FIELDS.get(field, frozenset())
