"""What the survey flow needs from the rest of the daemon, named once.

``SurveySession`` is the subset of ``callcore.calls.session.CallSession`` the flow uses, so the same
flow runs on an inbound caller's session after the agent hung up and on an outbound survey call's
session (W-12), and unit tests drive it with a fake. ``RatingStore`` is where a rating goes
(``callcore.surveys.services.SurveyService``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from callcore.surveys.models import INBOUND, KINDS


class KeysLike(Protocol):
    @property
    def digits(self) -> str: ...

    @property
    def ended_by(self) -> str: ...


class SurveySession(Protocol):
    call_id: str

    def event(self, type_: str, **data: Any) -> None: ...

    async def play(self, media: list[str], *, interrupt_digits: str | None = None, name: str = "",
                   last: bool = False) -> str | None: ...

    async def collect(self, *, max_digits: int, first_timeout: float, inter_timeout: float,
                      terminator: str | None = "#", first: str | None = None) -> KeysLike: ...


@dataclass(frozen=True, kw_only=True)
class SurveySubject:
    """What is rated: an inbound call's conversation (the agent and queue that served it), or, on an
    outbound survey call, a ticket (W-12)."""

    kind: str = INBOUND
    agent: str | None = None
    queue: str | None = None
    ticket_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")

    def as_data(self) -> dict[str, Any]:
        """The subject as event data (the keys that are set)."""
        return {k: v for k, v in (("kind", self.kind), ("agent", self.agent), ("queue", self.queue),
                                  ("ticket_id", self.ticket_id)) if v is not None}


class RatingStore(Protocol):
    async def record(self, call_id: str, subject: SurveySubject, rating: int) -> object:
        """Stores the rating; never raises for an outage (the timeline keeps it meanwhile)."""
        ...
