"""Domain errors with an HTTP status and a stable ``error_id`` (clients switch on the id, not the text)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
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


class InvalidInput(ApiError):
    status = 400
    error_id = "invalid_input"


class Unauthorized(ApiError):
    status = 401
    error_id = "unauthorized"


class Forbidden(ApiError):
    status = 403
    error_id = "forbidden"


class NotFound(ApiError):
    status = 404
    error_id = "not_found"


class Conflict(ApiError):
    status = 409
    error_id = "conflict"


class ServiceUnavailable(ApiError):
    status = 503
    error_id = "unavailable"
