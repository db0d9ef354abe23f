"""A small in-process sliding-window rate limiter for public, unauthenticated endpoints."""

from __future__ import annotations

import time
from collections import deque

from callcore.core.errors import DomainError


class TooManyRequests(DomainError):
    status = 429
    error_id = "too_many_requests"


class RateLimiter:
    def __init__(self, limit: int, window: float, *, max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._hits: dict[str, deque[float]] = {}

    def check(self, client: str, now: float | None = None) -> None:
        """Raises ``TooManyRequests`` past ``limit`` hits in ``window`` seconds for this client."""
        now = time.monotonic() if now is None else now
        if len(self._hits) > self.max_clients:
            self._hits.clear()  # a flood of addresses: forget rather than grow without bound
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            raise TooManyRequests(f"too many lookups; retry in {int(self.window - (now - hits[0])) + 1} s")
        hits.append(now)
