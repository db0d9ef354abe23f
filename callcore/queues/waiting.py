"""The waiting lines (T-5): who is offered to a free agent next, and each caller's place.

Order across the queues an agent serves: queue weight (higher first), then caller priority (higher
first), then entry time (earlier first), then the entry sequence number, then the call id. Every
part is stored with the caller, never derived from when the daemon learned of it, so a daemon that
restarts and reloads its callers in any order puts them back in the same order, each with its
original entry time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

# Caller priority, from routing (higher is served first).
NORMAL: Final = 0
REPEAT_OPEN_TICKET: Final = 5  # called before and a ticket of theirs is still open
EMERGENCY: Final = 10  # chose an emergency-type category (应急) in the menu
EMERGENCY_CATEGORY: Final = "emergency"


@dataclass(frozen=True, kw_only=True)
class WaitingCaller:
    """One caller in one queue, as stored: ``seq`` is a number the daemon assigns on entry from a
    counter it persists, the tie-break when two callers entered in the same millisecond."""

    call_id: str
    queue: str
    entered_at: datetime
    seq: int
    priority: int = NORMAL


@dataclass(frozen=True, kw_only=True)
class QueueLine:
    """A queue's waiting callers with what ordering across queues needs: its weight and members."""

    queue: str
    weight: int = 0
    members: frozenset[str] = frozenset()
    callers: tuple[WaitingCaller, ...] = ()


def caller_priority(*, category: str | None = None, open_ticket: bool = False) -> int:
    """Priority from routing: emergency category > repeat caller with an open ticket > normal."""
    if category == EMERGENCY_CATEGORY:
        return EMERGENCY
    if open_ticket:
        return REPEAT_OPEN_TICKET
    return NORMAL


def line_key(c: WaitingCaller) -> tuple[int, datetime, int, str]:
    """The order within one queue (earliest first)."""
    return (-c.priority, c.entered_at, c.seq, c.call_id)


def in_order(callers: Iterable[WaitingCaller]) -> list[WaitingCaller]:
    """One queue's callers, first to be served first."""
    return sorted(callers, key=line_key)


def position(line: QueueLine, call_id: str) -> int | None:
    """The caller's 1-based place in its own queue (what announcements say), None if not waiting.

    Callers of heavier queues the same agents serve may still be served first: the place counts
    only this queue's line, which is what the caller can understand."""
    for n, c in enumerate(in_order(line.callers), start=1):
        if c.call_id == call_id:
            return n
    return None


def positions(line: QueueLine) -> dict[str, int]:
    """Every caller's place in the line at once (for periodic announcements to all of them)."""
    return {c.call_id: n for n, c in enumerate(in_order(line.callers), start=1)}


def next_for_agent(agent_id: str, lines: Sequence[QueueLine], *,
                   exclude: Collection[str] = ()) -> WaitingCaller | None:
    """The caller a newly free agent should be offered, across every queue they are a member of.

    ``exclude`` holds the calls being offered to someone else at this moment (their phones ring),
    so two agents are not offered the same caller. None when nobody waits for this agent."""
    waiting = [kc for kc in _keyed(agent_id, lines) if kc[1].call_id not in exclude]
    return min(waiting, key=lambda kc: kc[0])[1] if waiting else None


def offer_order(agent_id: str, lines: Sequence[QueueLine]) -> list[WaitingCaller]:
    """All callers waiting for this agent, in the order they would be offered (wallboards, tests)."""
    return [c for _, c in sorted(_keyed(agent_id, lines), key=lambda kc: kc[0])]


_OfferKey = tuple[int, int, datetime, int, str]


def _keyed(agent_id: str, lines: Sequence[QueueLine]) -> list[tuple[_OfferKey, WaitingCaller]]:
    return [((-line.weight, *line_key(c)), c) for line in lines if agent_id in line.members for c in line.callers]
