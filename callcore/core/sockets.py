"""The WebSockets each login holds open, so that ending the login closes them (issue 11).

A live feed authenticates once, when it opens; without this it would go on sending to a browser
whose user has logged out, been disabled, or lost the role that let them read it. Each feed holds
its socket here, under the credential it opened with (a login's bearer token, also the one behind a
console socket ticket) and its user, for as long as it is open. Whoever ends logins (the accounts
capability: a logout, an admin revoking a user's sessions) ends them here once the end is stored,
and every feed held under them closes itself with ``SESSION_ENDED``.

It lives in the core because both sides need it and neither may import the other: the feeds are
HTTP (``callcore.api.stream``), the logins are the accounts capability's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# The close code of a feed whose login ended: the console goes back to its login page instead of
# reopening the feed. 4000-4999 are for applications (RFC 6455 section 7.4.2); 4401 echoes HTTP's 401.
SESSION_ENDED = 4401


@dataclass(eq=False, kw_only=True)
class _Held:
    user_id: str
    credential: str
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class SessionSockets:
    """Open feeds by login; in memory (one daemon process serves every socket)."""

    def __init__(self) -> None:
        self._open: set[_Held] = set()

    @contextmanager
    def hold(self, *, user_id: str, credential: str) -> Iterator[asyncio.Event]:
        """Holds a feed for as long as the block runs; the event is set when its login ends."""
        held = _Held(user_id=user_id, credential=credential)
        self._open.add(held)
        try:
            yield held.ended
        finally:
            self._open.discard(held)

    def end_login(self, credential: str) -> int:
        """Ends the feeds opened with ``credential`` (its login was logged out); how many."""
        return self._end([h for h in self._open if h.credential == credential])

    def end_user(self, user_id: str) -> int:
        """Ends every feed of the user (all their logins revoked); how many."""
        return self._end([h for h in self._open if h.user_id == user_id])

    def _end(self, held: list[_Held]) -> int:
        for h in held:
            h.ended.set()
        return len(held)

    def __len__(self) -> int:
        return len(self._open)
