"""A small in-process sliding-window rate limiter for public, unauthenticated endpoints, and for
failed sign-ins (counted per account and per address: ``check`` asks, ``hit`` counts)."""

from __future__ import annotations

import time
from collections import deque

from callcore.core.errors import DomainError


class TooManyRequests(DomainError):
    """429; the error middleware sends ``retry_after`` as the Retry-After header."""

    status = 429
    error_id = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after}, text=f"操作过于频繁，请 {retry_after} 秒后再试")
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, limit: int, window: float, *, max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._hits: dict[str, deque[float]] = {}

    def check(self, client: str, now: float | None = None, *, count: bool = True) -> None:
        """Raises ``TooManyRequests`` past ``limit`` hits in ``window`` seconds for this client; a
        check that passes is a hit unless ``count`` is False (then only ``hit`` counts)."""
        now = time.monotonic() if now is None else now
        hits = self._window(client, now)
        if len(hits) >= self.limit:
            wait = int(self.window - (now - hits[0])) + 1
            raise TooManyRequests(f"too many attempts; retry in {wait} s", retry_after=wait)
        if count:
            hits.append(now)

    def hit(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._window(client, now).append(now)

    def forget(self, client: str) -> None:
        self._hits.pop(client, None)

    def _window(self, client: str, now: float) -> deque[float]:
        if len(self._hits) > self.max_clients:
            self._hits.clear()  # a flood of addresses: forget rather than grow without bound
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits
