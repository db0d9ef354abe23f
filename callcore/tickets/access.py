"""Who sees which ticket and which whole personal value (A-1, A-2).

A department handler sees only tickets currently dispatched to their department (as lead or
assisting); anything else answers "not found", so a ticket's existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, true

from callcore.core.identity import HANDLER, ID_CARD_ROLES, PHONE_ROLES, READ_ALL, Principal
from callcore.tickets.models import Ticket, TicketDepartment

PERSONAL_FIELDS = {"phone": PHONE_ROLES, "id_card": ID_CARD_ROLES}


def visible_clause(who: Principal) -> ColumnElement[bool]:
    """The SQL condition a principal's ticket queries are restricted by."""
    if who.role in READ_ALL:
        return true()
    if who.role == HANDLER and who.department_id:
        return exists(
            select(TicketDepartment.ticket_id).where(
                TicketDepartment.ticket_id == Ticket.id, TicketDepartment.department_id == who.department_id
            )
        )
    return Ticket.id.is_(None)  # no rows


def may_reveal(who: Principal, field: str) -> bool:
    return who.role in PERSONAL_FIELDS.get(field, frozenset())
