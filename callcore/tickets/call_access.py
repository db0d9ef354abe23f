"""The calls a department's handler may see: those behind the department's own tickets (A-1).

A handler calls citizens back about the tickets in the department's hands, so the calls those
tickets came from or were discussed in are theirs to read (the recording's context, the timeline);
every other call of the hotline is not.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select

from callcore.calls.models import Call
from callcore.core.identity import Principal
from callcore.tickets.models import TicketCall, TicketDepartment


async def handler_calls(who: Principal) -> ColumnElement[bool]:
    if who.department_id is None:
        return false()
    mine = (select(TicketCall.call_id)
            .join(TicketDepartment, TicketDepartment.ticket_id == TicketCall.ticket_id)
            .where(TicketDepartment.department_id == who.department_id))
    return Call.id.in_(mine)
