"""What the IVR engine needs from the rest of the daemon, named once as protocols.

``IvrSession`` is the subset of ``callcore.calls.session.CallSession`` the engine uses (the real
session satisfies it; unit tests use a fake). ``TicketLookup`` is the self-service lookup (T-4),
``Handoffs`` tells whether the queue / voicemail / callback capabilities are running yet.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol


class CollectResultLike(Protocol):
    @property
    def digits(self) -> str: ...

    @property
    def ended_by(self) -> str: ...


class IvrSession(Protocol):
    call_id: str
    channel_id: str
    caller_number: str
    attributes: dict[str, Any]

    def event(self, type_: str, **data: Any) -> None: ...

    def set_attribute(self, name: str, value: Any) -> None: ...

    async def answer(self) -> None: ...

    async def play(self, media: list[str], *, interrupt_digits: str | None = None, name: str = "", last: bool = False) -> str | None: ...

    async def collect(self, *, max_digits: int, first_timeout: float, inter_timeout: float,
                      terminator: str | None = "#", first: str | None = None) -> CollectResultLike: ...

    async def hangup(self, reason: str = "normal") -> None: ...


@dataclass(frozen=True, kw_only=True)
class TicketStatus:
    """What a caller may hear about a ticket by its query code: no personal data."""

    query_code: str
    status: str  # workflow status code
    status_text: str  # Mandarin, e.g. 办理中
    due_date: date | None = None
    closed: bool = False


class TicketLookup(Protocol):
    async def by_query_code(self, code: str) -> TicketStatus | None: ...


class Handoffs(Protocol):
    """Whether a hand-off target exists: ``kind`` is queue, voicemail or callback; ``name`` the queue/mailbox."""

    def available(self, kind: str, name: str) -> bool: ...


class HandoffTarget(ABC):
    """The capability that takes callers the menu hands on (the queues), put in the application
    context under this class so the IVR, which sits below it, can reach it without importing it."""

    @abstractmethod
    def available(self, kind: str, name: str) -> bool: ...

    @abstractmethod
    async def take(self, session: Any, outcome: IvrOutcome) -> None:
        """Drives the call from the hand-off to its end (``CallerHungUp`` may propagate)."""

    @abstractmethod
    async def resume(self, session: Any) -> bool:
        """A call the daemon picked up again after a restart: True if it was past the menu (waiting
        in a queue, talking to an agent) and has been taken back there; False runs the menu."""


class NoHandoffs:
    """Until queues, voicemail and the callback offer exist, every hand-off is unavailable."""

    def available(self, kind: str, name: str) -> bool:
        return False


@dataclass(frozen=True, kw_only=True)
class IvrOutcome:
    """How a call left the menu. ``how``: queue, voicemail, callback (the caller is to be handed on),
    hangup (the menu hung up), caller_hangup (lost in the IVR, C-2)."""

    how: str
    node: str
    target: str = ""  # queue name or mailbox
    path: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
