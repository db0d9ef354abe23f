"""Domain errors of the ticket workflow, each with an HTTP status and a stable ``error_id``."""

from __future__ import annotations

from callcore.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class IllegalTransition(Conflict):
    """The action is not allowed in the ticket's state; the message names both."""

    error_id = "illegal_transition"

    def __init__(self, status: str, action: str, why: str = "", *, text: str | None = None) -> None:
        # ``text``: the reason in Chinese, when it is not the state itself (a deadline passed, a request
        # pending), so the console says why instead of "the state does not allow this".
        message = f"action {action!r} is not allowed on a ticket in state {status!r}"
        super().__init__(message + (f": {why}" if why else ""), details={"status": status, "action": action},
                         text=text)
        self.status_name = status
        self.action = action


class NotPermitted(Forbidden):
    error_id = "not_permitted"


class TicketNotFound(NotFound):
    error_id = "ticket_not_found"


class BadTicketInput(InvalidInput):
    error_id = "invalid_input"

    def __init__(self, field: str, message: str, *, text: str | None = None) -> None:
        super().__init__(f"{field}: {message}", details=[{"field": field, "in": "body", "message": message}], text=text)
