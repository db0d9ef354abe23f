"""The agent state machine (T-6), pure: ``apply(state, event, now)``, ``replay`` and ``check_invariants``.

The service keeps one ``AgentState`` per agent, applies each event as it happens and stores the
result (and the event, so ``replay`` can rebuild it after a restart). Every time the machine needs
is passed in ``now``; it never reads a clock. A refused event raises ``IllegalAgentTransition`` and
leaves the (frozen) state untouched, as ``callcore/tickets/workflow.py`` does for tickets.

Two axes are tracked apart: the work status (logged out, available, ringing, on a call, wrapping
up, paused) and the phone (registered, busy with something else). Only an available agent with a
registered, idle phone may be rung (``can_ring``); the ring strategies ask the same function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar

from callcore.queues.errors import IllegalAgentTransition

LOGGED_OUT = "logged_out"
AVAILABLE = "available"
RINGING = "ringing"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
PAUSED = "paused"
STATUSES = (LOGGED_OUT, AVAILABLE, RINGING, ON_CALL, WRAP_UP, PAUSED)
# The statuses in which the agent is tied to one call (the id is kept through wrap-up for the ticket).
WITH_CALL = frozenset({RINGING, ON_CALL, WRAP_UP})

# What the supervisor's screen shows when the machine paused the agent itself (T-6).
AUTO_PAUSE_REASON = "连续未接"
# The hotline's local time (Beijing, no daylight saving): "today" for answered-call counts.
CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True, kw_only=True)
class AgentRules:
    """Center-wide tunables: after ``max_missed_in_row`` missed rings the agent is paused
    (0 = never); ``tz`` decides where "today" starts for the answered-calls count."""

    max_missed_in_row: int = 3
    tz: tzinfo = CHINA


@dataclass(frozen=True, kw_only=True)
class AgentState:
    agent_id: str
    status: str = LOGGED_OUT
    since: datetime  # when the current status began (wallboards show "paused for 12 min")
    call_id: str | None = None
    pause_reason: str | None = None
    pending_pause: str | None = None  # asked during ringing/call/wrap-up; applied when it ends
    wrap_up_until: datetime | None = None  # so a restarted daemon can re-arm the wrap-up timer
    registered: bool = False
    device_busy: bool = False  # the phone is in use outside the queue (a private or outbound call)
    missed_in_row: int = 0
    missed_total: int = 0
    answered_today: int = 0
    answered_day: date | None = None  # the local day answered_today counts
    last_call_ended_at: datetime | None = None


# -- events ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Login:
    name: ClassVar[str] = "login"


@dataclass(frozen=True)
class Logout:
    name: ClassVar[str] = "logout"


@dataclass(frozen=True)
class Pause:
    reason: str
    name: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume:
    name: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Ring:
    call_id: str
    name: ClassVar[str] = "ring"


@dataclass(frozen=True)
class RingNoAnswer:
    """The ring ended against the agent: timeout, declined, or the phone could not be reached."""

    name: ClassVar[str] = "ring_no_answer"


@dataclass(frozen=True)
class RingCancelled:
    """The ring ended through nobody's fault here: the caller hung up or another agent answered."""

    name: ClassVar[str] = "ring_cancelled"


@dataclass(frozen=True)
class Answer:
    name: ClassVar[str] = "answer"


@dataclass(frozen=True)
class Hangup:
    wrap_up_seconds: float = 0.0  # the queue's wrap-up time (settings), 0 for none
    name: ClassVar[str] = "hangup"


@dataclass(frozen=True)
class WrapUpOver:
    """The wrap-up timer fired, or the agent ended wrap-up early."""

    name: ClassVar[str] = "wrap_up_over"


@dataclass(frozen=True)
class DeviceRegistered:
    name: ClassVar[str] = "device_registered"


@dataclass(frozen=True)
class DeviceUnregistered:
    name: ClassVar[str] = "device_unregistered"


@dataclass(frozen=True)
class DeviceBusy:
    name: ClassVar[str] = "device_busy"


@dataclass(frozen=True)
class DeviceIdle:
    name: ClassVar[str] = "device_idle"


AgentEvent = (Login | Logout | Pause | Resume | Ring | RingNoAnswer | RingCancelled | Answer | Hangup | WrapUpOver
              | DeviceRegistered | DeviceUnregistered | DeviceBusy | DeviceIdle)
DEFAULT_RULES = AgentRules()
EVENT_TYPES: dict[str, type[AgentEvent]] = {cls.name: cls for cls in (
    Login, Logout, Pause, Resume, Ring, RingNoAnswer, RingCancelled, Answer, Hangup, WrapUpOver, DeviceRegistered,
    DeviceUnregistered, DeviceBusy, DeviceIdle)}


def event_to_json(event: AgentEvent) -> dict[str, Any]:
    """The stored form of an event: its name and its fields, for the history ``replay`` reads."""
    return {"event": event.name, **asdict(event)}


def event_from_json(raw: Mapping[str, Any]) -> AgentEvent:
    """The event a stored row describes; ``ValueError`` for an unknown name or missing fields."""
    cls = EVENT_TYPES.get(str(raw.get("event")))
    if cls is None:
        raise ValueError(f"unknown agent event {raw.get('event')!r}; one of {', '.join(EVENT_TYPES)}")
    try:
        return cls(**{k: v for k, v in raw.items() if k != "event"})
    except TypeError as exc:
        raise ValueError(f"bad {cls.name} event: {exc}") from None


def new_agent(agent_id: str, now: datetime) -> AgentState:
    """An agent as first seen: logged out, phone unknown (so not registered)."""
    return AgentState(agent_id=agent_id, since=now)


def can_ring(s: AgentState) -> bool:
    """Eligible to be offered a caller: logged in, not paused, not wrapping up, not ringing or
    talking already, phone registered and not busy with something else."""
    return s.status == AVAILABLE and s.registered and not s.device_busy


def answered_on(s: AgentState, day: date) -> int:
    """Answered calls on ``day``: yesterday's count is not today's (no midnight job needed)."""
    return s.answered_today if s.answered_day == day else 0


def apply(s: AgentState, event: AgentEvent, now: datetime, rules: AgentRules = DEFAULT_RULES) -> AgentState:
    """The state after ``event`` at ``now``, or ``IllegalAgentTransition`` naming state and event."""
    match event:
        case DeviceRegistered():
            return replace(s, registered=True)
        case DeviceUnregistered():
            s = replace(s, registered=False)
            # A phone gone while ringing cannot answer: skipped, and counted (T-6).
            return _missed(s, now, rules) if s.status == RINGING else s
        case DeviceBusy():
            return replace(s, device_busy=True)
        case DeviceIdle():
            return replace(s, device_busy=False)
        case Login():
            _need(s, event, {LOGGED_OUT}, "already logged in")
            return replace(s, status=AVAILABLE, since=now, missed_in_row=0)
        case Logout():
            _need(s, event, {AVAILABLE, PAUSED, WRAP_UP}, "finish the call first")
            return replace(s, status=LOGGED_OUT, since=now, call_id=None, pause_reason=None, pending_pause=None,
                           wrap_up_until=None, missed_in_row=0)
        case Pause(reason=reason):
            reason = reason.strip()
            if not reason:
                raise IllegalAgentTransition(s.status, event.name, "a pause needs a reason")
            if s.status in WITH_CALL:
                return replace(s, pending_pause=reason)
            _need(s, event, {AVAILABLE, PAUSED}, "log in first")
            return replace(s, status=PAUSED, since=now, pause_reason=reason)
        case Resume():
            if s.status in WITH_CALL and s.pending_pause is not None:
                return replace(s, pending_pause=None)
            _need(s, event, {PAUSED}, "not paused")
            return replace(s, status=AVAILABLE, since=now, pause_reason=None, missed_in_row=0)
        case Ring(call_id=call_id):
            _need(s, event, {AVAILABLE}, "only an available agent is rung")
            if not call_id:
                raise IllegalAgentTransition(s.status, event.name, "a ring needs a call id")
            if not s.registered:
                raise IllegalAgentTransition(s.status, event.name, "the phone is not registered")
            if s.device_busy:
                raise IllegalAgentTransition(s.status, event.name, "the phone is busy")
            return replace(s, status=RINGING, since=now, call_id=call_id)
        case RingNoAnswer():
            _need(s, event, {RINGING}, "the phone is not ringing")
            return _missed(s, now, rules)
        case RingCancelled():
            _need(s, event, {RINGING}, "the phone is not ringing")
            return _free(s, now)
        case Answer():
            _need(s, event, {RINGING}, "the phone is not ringing")
            day = now.astimezone(rules.tz).date()
            return replace(s, status=ON_CALL, since=now, missed_in_row=0, answered_day=day,
                           answered_today=answered_on(s, day) + 1)
        case Hangup(wrap_up_seconds=seconds):
            _need(s, event, {ON_CALL}, "no call to hang up")
            if seconds < 0:
                raise IllegalAgentTransition(s.status, event.name, "wrap-up time cannot be negative")
            s = replace(s, last_call_ended_at=now)
            if seconds == 0:
                return _free(s, now)
            return replace(s, status=WRAP_UP, since=now, wrap_up_until=now + timedelta(seconds=seconds))
        case WrapUpOver():
            _need(s, event, {WRAP_UP}, "not wrapping up")
            return _free(s, now)
    raise IllegalAgentTransition(s.status, repr(event), "unknown event")  # pragma: no cover - exhaustive


def _need(s: AgentState, event: AgentEvent, allowed: set[str], why: str) -> None:
    if s.status not in allowed:
        raise IllegalAgentTransition(s.status, event.name, why)


def _free(s: AgentState, now: datetime) -> AgentState:
    """The call (or ring) is over: available, or paused if a pause was asked meanwhile."""
    s = replace(s, call_id=None, wrap_up_until=None, since=now)
    if s.pending_pause is not None:
        return replace(s, status=PAUSED, pause_reason=s.pending_pause, pending_pause=None)
    return replace(s, status=AVAILABLE)


def _missed(s: AgentState, now: datetime, rules: AgentRules) -> AgentState:
    in_row = s.missed_in_row + 1
    s = replace(s, missed_total=s.missed_total + 1, missed_in_row=in_row)
    if rules.max_missed_in_row and in_row >= rules.max_missed_in_row:
        # The streak is acted on (the reason says why), so it starts again at 0 when they resume.
        return replace(s, status=PAUSED, pause_reason=AUTO_PAUSE_REASON, pending_pause=None, call_id=None,
                       since=now, missed_in_row=0)
    return _free(s, now)


def replay(agent_id: str, history: Iterable[tuple[AgentEvent, datetime]], start: datetime,
           rules: AgentRules = DEFAULT_RULES) -> AgentState:
    """The state a stored history leads to; raises if the history is not a legal sequence."""
    s = new_agent(agent_id, start)
    for event, at in history:
        s = apply(s, event, at, rules)
    return s


def check_invariants(s: AgentState, rules: AgentRules = DEFAULT_RULES) -> None:
    """What holds in every reachable state (the property tests call this after each event)."""
    assert s.status in STATUSES, s.status
    assert (s.call_id is not None) == (s.status in WITH_CALL), "a call id exactly while ringing/talking/wrapping"
    assert s.call_id != "", "an empty call id"
    assert (s.pause_reason is not None) == (s.status == PAUSED), "a pause reason exactly while paused"
    assert s.pending_pause is None or s.status in WITH_CALL, "a pending pause only while tied to a call"
    assert (s.wrap_up_until is not None) == (s.status == WRAP_UP), "a wrap-up end exactly while wrapping up"
    assert s.missed_in_row >= 0 and s.missed_total >= s.missed_in_row and s.answered_today >= 0
    if rules.max_missed_in_row:
        assert s.missed_in_row < rules.max_missed_in_row, "the streak pauses the agent when it reaches the limit"
    assert s.answered_today == 0 or s.answered_day is not None
    assert s.status != RINGING or s.registered, "a phone that is not registered does not ring"
