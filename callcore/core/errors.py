"""Domain errors: each carries a status (the HTTP one, as a plain number) and a stable ``error_id``.

Programs switch on the id; people read ``text``, in Chinese. Services raise these without knowing
HTTP; the API's error middleware turns any of them into a JSON answer with that status:
``{"error_id": ..., "message": <中文>, "detail": <the raiser's English, for developers>, "details": [...]}``.
A raiser may give the Chinese itself (``text=``, or a message already written in Chinese); otherwise
people read the Chinese of the error id (``callcore.core.errors_text``).
"""

from __future__ import annotations

from typing import Any

from callcore.core.errors_text import has_cjk, text_for


class DomainError(Exception):
    status = 400
    error_id = "bad_request"

    def __init__(self, message: str, *, details: Any = None, status: int | None = None, error_id: str | None = None,
                 text: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status is not None:
            self.status = status
        if error_id is not None:
            self.error_id = error_id
        self._text = text

    @property
    def text(self) -> str:
        """What a person reads: the raiser's Chinese, else the Chinese of the error id or status."""
        if self._text:
            return self._text
        if has_cjk(self.message):
            return self.message
        text = text_for(self.error_id, self.status)
        field = self.details[0].get("field") if isinstance(self.details, list) and self.details and isinstance(
            self.details[0], dict) else None
        return f"{field}：{text}" if field else text

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error_id": self.error_id, "message": self.text}
        if self.message != body["message"]:
            body["detail"] = self.message
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
