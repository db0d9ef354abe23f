"""Who sees which ticket and which whole personal value (A-1, A-2).

A department handler sees the tickets currently dispatched to their department (as lead or
assisting), and reads, without acting on them, the tickets the department returned (its history);
anything else answers "not found", so a ticket's existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select, true

from callcore.core.identity import HANDLER, ID_CARD_ROLES, PHONE_ROLES, READ_ALL, Principal
from callcore.tickets.models import Ticket, TicketDepartment, TicketEvent

PERSONAL_FIELDS = {"phone": PHONE_ROLES, "id_card": ID_CARD_ROLES}


def workable_clause(who: Principal) -> ColumnElement[bool]:
    """The tickets a principal may act on: for a handler, those dispatched to the department now."""
    if who.role in READ_ALL:
        return true()
    if who.role == HANDLER and who.department_id:
        return exists(
            select(TicketDepartment.ticket_id).where(
                TicketDepartment.ticket_id == Ticket.id, TicketDepartment.department_id == who.department_id
            )
        )
    return Ticket.id.is_(None)  # no rows


def visible_clause(who: Principal) -> ColumnElement[bool]:
    """The SQL condition a principal's ticket queries are restricted by."""
    if who.role == HANDLER and who.department_id:
        returned = exists(select(TicketEvent.id).where(
            TicketEvent.ticket_id == Ticket.id, TicketEvent.action == "return",
            TicketEvent.actor_department_id == who.department_id))
        return or_(workable_clause(who), returned)
    return workable_clause(who)


def may_reveal(who: Principal, field: str) -> bool:
    return who.role in PERSONAL_FIELDS.get(field, frozenset())
