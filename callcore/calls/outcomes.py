"""Every call ends in exactly one outcome (C-2): a pure classifier over the call's timeline.

The journal stores it on the call row when the call ends (``journal.py``), so the loss counts and
the figures read one stored answer instead of each re-deciding from the events.

``classify`` reads the events in timeline order (by ``at``, ties by the journal's ``seq``: ``seq``
alone restarts with every daemon process, and a call parked in Stasis outlives the process that
answered it) and decides by precedence, first match wins:

1. ``answered``: an agent picked up (``agent_answered``, or ``talk_started``). Not the journal's
   ``answered``, which is the daemon answering the channel. A caller who hangs up while hearing
   the agent's number (T-7) was still answered: the agent was there. When an agent picks up and lets
   the call go before the conversation (the caller is put back in the line: a second
   ``queue_entered``), that pick-up is not the answer: the agent the caller talks to is, at the
   moment they picked up; a caller who then gives up is not answered.
2. ``refused``: a ``refused`` event (blacklist, abusive repeat calls, channel limit, overload).
3. ``queue_timeout``: the queue let go of the caller at max_wait (``queue_left reason=timeout``),
   whatever followed (a message left then still counts here: the caller did not choose to leave).
4. ``left_by_choice``: a message was left or a callback registered. Choosing voicemail/callback
   and hanging up before leaving anything is not a choice honoured: it falls through to 6-8.
5. In the queue when the call ended (never left it, or left by hanging up):
   ``closed_by_system`` if the system ended the call; else ``short_abandon`` if the caller waited
   less than ``short_abandon_seconds`` (a misdial or an instant change of mind that no agent could
   have prevented, so it wins over the next two); else ``lost_while_ringing`` if an agent's phone
   was ringing (or its ring ended because the caller hung up); else ``abandoned_in_queue``.
6. ``served_by_self_service``: outside a queue, the caller heard a self-service answer (a ticket
   status by query code, or a node listed in ``self_service_nodes``) and the call then ended,
   whoever hung up: what they called for, they got.
7. ``closed_by_system``: outside a queue, the system ended the call, or had begun to (a hang-up
   node's closing message, a hand-off to the dialplan's apology), even if the caller hung up
   during that last message. Such a caller was told goodbye, not lost in the menus; counting them
   as lost in the IVR would blame the menus for a closed hotline. It is not counted as served
   either, so the figures keep it visible (loss stage "system").
8. ``lost_in_ivr``: anything else, i.e. the caller hung up in the menus.

Who hung up comes from ``ended`` (``by``): ``unknown`` (the daemon was away) is taken as the
caller, so a loss is never hidden. Waits are measured from the first ``queue_entered``.

A message taken by the dialplan's fallback (``voicemail_left`` with ``via=fallback``) is rule 4
like any other: the classifier cannot tell whether the caller chose it or was sent there (the
daemon was down, or handed the call back at shutdown), and a caller who left a message will be
called back, so it is not counted lost either way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from callcore.calls import events as ev
from callcore.core.errors import DomainError

ANSWERED: Final = "answered"
LOST_IN_IVR: Final = "lost_in_ivr"
ABANDONED_IN_QUEUE: Final = "abandoned_in_queue"
LOST_WHILE_RINGING: Final = "lost_while_ringing"
QUEUE_TIMEOUT: Final = "queue_timeout"
LEFT_BY_CHOICE: Final = "left_by_choice"
REFUSED: Final = "refused"
SHORT_ABANDON: Final = "short_abandon"
SERVED_BY_SELF_SERVICE: Final = "served_by_self_service"
CLOSED_BY_SYSTEM: Final = "closed_by_system"
OUTCOMES: Final = (ANSWERED, LOST_IN_IVR, ABANDONED_IN_QUEUE, LOST_WHILE_RINGING, QUEUE_TIMEOUT, LEFT_BY_CHOICE,
                   REFUSED, SHORT_ABANDON, SERVED_BY_SELF_SERVICE, CLOSED_BY_SYSTEM)
# C-2's stages (ivr, queue, ringing, refused) and the losses counted apart from them.
LOSS_STAGE: Final[Mapping[str, str]] = {
    LOST_IN_IVR: "ivr", ABANDONED_IN_QUEUE: "queue", LOST_WHILE_RINGING: "ringing", REFUSED: "refused",
    QUEUE_TIMEOUT: "timeout", SHORT_ABANDON: "short", CLOSED_BY_SYSTEM: "system",
}
SHORT_ABANDON_SECONDS: Final = 5.0
# The event types ``classify`` reads. Leaving the others out of a timeline (prompts, keys,
# attributes: most of an IVR call's events) changes no outcome, so the journal reads only these.
READS: Final = frozenset({
    ev.QUEUE_ENTERED, ev.ANNOUNCEMENT, ev.AGENT_RINGING, ev.AGENT_RING_ENDED, ev.AGENT_ANSWERED, ev.TALK_STARTED,
    ev.TALK_ENDED, ev.QUEUE_LEFT, ev.REFUSED, ev.IVR_NODE, ev.IVR_LEFT, ev.HANGUP_REQUESTED, ev.HANDED_OFF,
    ev.VOICEMAIL_LEFT, ev.CALLBACK_REQUESTED, ev.ENDED,
})


class UnfinishedCall(DomainError, ValueError):
    """A timeline without its ``ended`` event has no outcome yet."""

    error_id = "call_not_ended"


@dataclass(frozen=True)
class TimelineEvent:
    """One event of a call's timeline as the journal stores it (C-1)."""

    type: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """The outcome and what the figures need with it (``figures.CallFacts``): ``position`` and
    ``waited`` (seconds since the first queue entry) at the moment the caller was answered, hung up
    or timed out; when the caller first entered a queue, when an agent first picked up, when the
    conversation ended and the wrap-up it earned the agent (handle time = talk + wrap-up)."""

    kind: str
    queue: str | None = None
    agent: str | None = None
    position: int | None = None
    waited: float | None = None
    queue_entered_at: datetime | None = None
    answered_at: datetime | None = None
    talk_ended_at: datetime | None = None
    wrap_up_seconds: float = 0.0

    @property
    def loss_stage(self) -> str | None:
        return LOSS_STAGE.get(self.kind)


@dataclass
class _Walk:
    queue: str | None = None
    entered_at: datetime | None = None
    in_queue: bool = False
    left_reason: str | None = None
    left_at: datetime | None = None
    position: int | None = None
    ringing: dict[str, datetime] = field(default_factory=dict)
    caller_gone_ringing: str | None = None
    last_rung: str | None = None
    answered_at: datetime | None = None
    agent: str | None = None
    # An agent picked up, the conversation not begun: the answer if the talk follows (or nothing
    # else does); forgotten when the caller is put back in the line (the agent let the call go).
    picked_up: tuple[datetime, str | None] | None = None
    talk_ended_at: datetime | None = None
    wrap_up: float = 0.0
    refused: bool = False
    self_service: bool = False
    closing: bool = False
    took_message: bool = False
    ended: TimelineEvent | None = None
    in_queue_at_end: bool = False
    ringing_at_end: str | None = None

    def see(self, e: TimelineEvent, self_service_nodes: frozenset[str]) -> None:
        t, d = e.type, e.data
        if t == ev.QUEUE_ENTERED:
            self.queue = str(d.get("queue") or self.queue or "") or None
            self.entered_at = self.entered_at or e.at
            self.in_queue, self.left_reason, self.left_at = True, None, None
            self.position = _int(d.get("position"), self.position)
            if self.answered_at is None:
                self.picked_up = None
        elif t == ev.ANNOUNCEMENT and d.get("kind") == ev.ANNOUNCE_POSITION:
            self.position = _int(d.get("position"), self.position)
        elif t == ev.AGENT_RINGING:
            agent = str(d.get("agent", ""))
            self.ringing[agent] = e.at
            self.last_rung = agent
        elif t == ev.AGENT_RING_ENDED:
            agent = str(d.get("agent", ""))
            self.ringing.pop(agent, None)
            if d.get("reason") == ev.RING_CALLER_GONE:
                self.caller_gone_ringing = agent
        elif t == ev.AGENT_ANSWERED:
            if self.answered_at is None:
                self.picked_up = (e.at, str(d.get("agent") or self.last_rung or "") or None)
        elif t == ev.TALK_STARTED:
            if self.answered_at is None:
                # Answered by the agent the caller talks to, when that agent picked up.
                picked_at, picker = self.picked_up or (e.at, None)
                self.answered_at, self.picked_up = picked_at, None
                self.agent = str(d.get("agent") or picker or self.last_rung or "") or None
        elif t == ev.TALK_ENDED:
            if self.talk_ended_at is None:
                self.talk_ended_at = e.at
                self.wrap_up = _wrap_up(d.get("wrap_up"))
        elif t == ev.QUEUE_LEFT:
            self.in_queue, self.left_reason, self.left_at = False, str(d.get("reason", "")), e.at
            self.position = _int(d.get("position"), self.position)
            self.closing = self.closing or self.left_reason == ev.LEFT_SYSTEM
        elif t == ev.REFUSED:
            self.refused = True
        elif t == ev.IVR_NODE:
            if (d.get("kind") == "lookup" and d.get("found")) or d.get("node") in self_service_nodes:
                self.self_service = True
            self.closing = self.closing or d.get("kind") == "hangup"
        elif t == ev.IVR_LEFT:
            self.closing = self.closing or d.get("how") == "hangup"
        elif t in (ev.HANGUP_REQUESTED, ev.HANDED_OFF):
            self.closing = True
        elif t in (ev.VOICEMAIL_LEFT, ev.CALLBACK_REQUESTED):
            self.took_message = True
        elif t == ev.ENDED and self.ended is None:
            if self.answered_at is None and self.picked_up is not None:
                # Picked up, and the call ended before the conversation (the caller left during the
                # agent-number announcement): still answered by that agent.
                self.answered_at, self.agent = self.picked_up
            self.ended = e
            self.in_queue_at_end = self.in_queue or self.left_reason == ev.LEFT_CALLER_HANGUP
            self.ringing_at_end = max(self.ringing, key=lambda a: self.ringing[a]) if self.ringing else None


def _int(value: Any, default: int | None) -> int | None:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _wrap_up(value: Any) -> float:
    """Seconds of wrap-up from the event; anything but a finite number above zero counts as none,
    so a bad value never shortens a handle time or makes it infinite."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _seconds(since: datetime | None, until: datetime | None) -> float | None:
    """Seconds from ``since`` to ``until``; None when either is unknown or they are out of order
    (a queue entered only after the agent answered, e.g. a transfer, is no wait)."""
    if since is None or until is None or until < since:
        return None
    return (until - since).total_seconds()


def classify(timeline: Iterable[TimelineEvent], *, short_abandon_seconds: float = SHORT_ABANDON_SECONDS,
             self_service_nodes: frozenset[str] = frozenset()) -> Outcome:
    """The one outcome of an ended call (precedence in the module docstring).

    Raises ``UnfinishedCall`` while the timeline has no ``ended`` event."""
    w = _Walk()
    for e in timeline:
        w.see(e, self_service_nodes)
    if w.ended is None:
        raise UnfinishedCall("the call has not ended: no outcome yet")

    def out(kind: str, *, agent: str | None = None, waited: float | None = None) -> Outcome:
        return Outcome(kind=kind, queue=w.queue, agent=agent, position=w.position, waited=waited,
                       queue_entered_at=w.entered_at, answered_at=w.answered_at, talk_ended_at=w.talk_ended_at,
                       wrap_up_seconds=w.wrap_up)

    if w.answered_at is not None:
        return out(ANSWERED, agent=w.agent, waited=_seconds(w.entered_at, w.answered_at))
    if w.refused:
        return out(REFUSED)
    if w.left_reason == ev.LEFT_TIMEOUT:
        return out(QUEUE_TIMEOUT, waited=_seconds(w.entered_at, w.left_at))
    if w.took_message:
        return out(LEFT_BY_CHOICE)
    by_system = w.ended.data.get("by") == "system"
    if w.entered_at is not None and w.in_queue_at_end:
        waited = _seconds(w.entered_at, w.left_at or w.ended.at)
        if by_system:
            return out(CLOSED_BY_SYSTEM, waited=waited)
        if waited is not None and waited < short_abandon_seconds:
            return out(SHORT_ABANDON, waited=waited)
        rung = w.ringing_at_end or w.caller_gone_ringing
        if rung is not None:
            return out(LOST_WHILE_RINGING, agent=rung, waited=waited)
        return out(ABANDONED_IN_QUEUE, waited=waited)
    if w.self_service:
        return out(SERVED_BY_SELF_SERVICE)
    if by_system or w.closing:
        return out(CLOSED_BY_SYSTEM)
    return out(LOST_IN_IVR)
