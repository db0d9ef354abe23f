"""Typed ARI failures: callers branch on the class, never on message text."""

from __future__ import annotations


class AriError(Exception):
    def __init__(self, status: int, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {message}".strip())
        self.status = status
        self.message = message


class AriNotFound(AriError):
    """The channel, bridge or playback is gone (usually: the caller hung up first)."""


class AriConflict(AriError):
    """409: the resource is not in a state for this operation (e.g. not in a Stasis app)."""


class AriUnavailable(AriError):
    """Asterisk did not answer (down, restarting, or the request timed out)."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(0, message, method=method, path=path)
