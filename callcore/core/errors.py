"""Domain errors: each carries a status (the HTTP one, as a plain number) and a stable ``error_id``.

Clients switch on the id, not the text. Services raise these without knowing HTTP; the API's error
middleware turns any of them into a JSON answer with that status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    error_id = "bad_request"

    def __init__(self, message: str, *, details: Any = None, status: int | None = None, error_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status is not None:
            self.status = status
        if error_id is not None:
            self.error_id = error_id

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error_id": self.error_id, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    status = 400
    error_id = "invalid_input"


class Unauthorized(DomainError):
    status = 401
    error_id = "unauthorized"


class Forbidden(DomainError):
    status = 403
    error_id = "forbidden"


class NotFound(DomainError):
    status = 404
    error_id = "not_found"


class Conflict(DomainError):
    status = 409
    error_id = "conflict"


class ServiceUnavailable(DomainError):
    status = 503
    error_id = "unavailable"
