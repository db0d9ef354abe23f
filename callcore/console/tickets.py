"""Tickets that let a browser open an authenticated WebSocket or play a recording.

A browser's ``WebSocket`` cannot send an ``Authorization`` header, and a bearer token in a URL
ends up in proxies' logs. So the console first asks, with its bearer token, for a ticket: a random
value bound to the principal, valid for a few seconds and for one connection only, and opens the
socket with that ticket in the query string (the pattern of Kubernetes' and Jupyter's consoles).

A ticket is never worth more than the login that asked for it: it keeps that bearer token, and the
HTTP layer authenticates it again on every use, so a ticket dies with its session (logged out,
expired, the user deactivated) and carries the user's role as it is now.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from callcore.core.identity import Principal

TICKET_SECONDS = 30.0
MAX_OPEN = 10_000


@dataclass(frozen=True, kw_only=True)
class Grant:
    """Who a ticket was issued to, and the bearer token they asked with (to check it still holds)."""

    principal: Principal
    credential: str


@dataclass(frozen=True, kw_only=True)
class _Issued:
    grant: Grant
    expires: float


class SocketTickets:
    """Issues and redeems tickets, in memory (one daemon process serves the console)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TICKET_SECONDS) -> None:
        self._clock = clock
        self.ttl = ttl
        self._open: dict[str, _Issued] = {}

    def issue(self, grant: Grant) -> str:
        self._sweep()
        if len(self._open) >= MAX_OPEN:
            # Never grow without bound: the oldest unredeemed tickets go first.
            for key in list(self._open)[: len(self._open) - MAX_OPEN + 1]:
                del self._open[key]
        ticket = secrets.token_urlsafe(24)
        self._open[ticket] = _Issued(grant=grant, expires=self._clock() + self.ttl)
        return ticket

    def redeem(self, ticket: str) -> Grant | None:
        """What the ticket was issued to, once; None if unknown, used or expired."""
        issued = self._open.pop(ticket, None)
        if issued is None or issued.expires < self._clock():
            return None
        return issued.grant

    def _sweep(self) -> None:
        now = self._clock()
        for key in [k for k, v in self._open.items() if v.expires < now]:
            del self._open[key]


@dataclass(kw_only=True)
class _Listening:
    grant: Grant
    recording_id: str
    expires: float
    ends: float


class AudioTickets:
    """Tickets that let a browser's ``<audio>`` element play one recording.

    An ``<audio src>`` cannot send the bearer header either, and a player asks for the same file
    several times (HTTP ranges as it buffers and seeks). So an audio ticket names one recording,
    must be first used within ``ttl`` seconds, then lives ``idle`` seconds past each use (the
    player's next range), and never beyond ``lifetime``. Each request it opens is checked again
    by the recordings service (who hears which) and audited there."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, ttl: float = TICKET_SECONDS,
                 idle: float = 600.0, lifetime: float = 4 * 3600.0) -> None:
        self._clock = clock
        self.ttl = ttl
        self.idle = idle
        self.lifetime = lifetime
        self._open: dict[str, _Listening] = {}

    def issue(self, grant: Grant, recording_id: str) -> str:
        self._sweep()
        if len(self._open) >= MAX_OPEN:
            for key in list(self._open)[: len(self._open) - MAX_OPEN + 1]:
                del self._open[key]
        ticket = secrets.token_urlsafe(24)
        now = self._clock()
        self._open[ticket] = _Listening(grant=grant, recording_id=recording_id, expires=now + self.ttl,
                                        ends=now + self.lifetime)
        return ticket

    def use(self, ticket: str, recording_id: str) -> Grant | None:
        """What the ticket was issued to, if it is alive and names ``recording_id``."""
        held = self._open.get(ticket)
        now = self._clock()
        if held is None or held.expires < now or held.recording_id != recording_id:
            if held is not None and held.expires < now:
                del self._open[ticket]
            return None
        held.expires = min(now + self.idle, held.ends)
        return held.grant

    def revoke(self, ticket: str) -> None:
        """Forgets the ticket (its login ended): later uses find nothing."""
        self._open.pop(ticket, None)

    def _sweep(self) -> None:
        now = self._clock()
        for key in [k for k, v in self._open.items() if v.expires < now]:
            del self._open[key]
