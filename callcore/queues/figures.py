"""The contact-center figures of C-2/C-3, as reference definitions over per-call facts.

These functions are the specification the SQL reports are tested against: each docstring says
exactly which calls count. One ``CallFacts`` per call, each with its one outcome
(``callcore/calls/outcomes.py``; the journal stores it on the call row when the call ends).

Times: ``speed of answer`` = answered_at − queue_entered_at (arrived_at if the call reached an
agent without a queue); ``abandon wait`` = ended_at − queue_entered_at; ``handle time`` =
(talk_ended_at, else ended_at) − answered_at + wrap_up_seconds. A rate or mean with an empty
denominator is None, never 0: "no calls" is not "0 % answered".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TypeVar

from callcore.calls import outcomes as oc
from callcore.queues.agents import CHINA

K = TypeVar("K", bound=Hashable)
SERVICE_LEVEL_SECONDS = 20.0  # C-3 default
# Hung up waiting for an agent, after the short-abandon threshold.
ABANDONED_KINDS = frozenset({oc.ABANDONED_IN_QUEUE, oc.LOST_WHILE_RINGING})


@dataclass(frozen=True, kw_only=True)
class CallFacts:
    """What the figures need of one call. ``agent`` is the agent who answered, or for a call lost
    while ringing the agent whose phone rang; ``talk_ended_at`` is when the agent's leg ended (a
    survey after it is not handle time), None meaning ``ended_at``."""

    queue: str | None
    agent: str | None
    arrived_at: datetime
    queue_entered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime
    outcome: str
    wrap_up_seconds: float = 0.0
    talk_ended_at: datetime | None = None
    call_id: str = ""

    @classmethod
    def of(cls, outcome: oc.Outcome, *, arrived_at: datetime, ended_at: datetime, call_id: str = "") -> CallFacts:
        """The facts of a call from its classified outcome (what the journal stores on the row)."""
        return cls(queue=outcome.queue, agent=outcome.agent, arrived_at=arrived_at,
                   queue_entered_at=outcome.queue_entered_at, answered_at=outcome.answered_at, ended_at=ended_at,
                   outcome=outcome.kind, wrap_up_seconds=outcome.wrap_up_seconds,
                   talk_ended_at=outcome.talk_ended_at, call_id=call_id)

    def __post_init__(self) -> None:
        if self.outcome not in oc.OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        if (self.answered_at is not None) != (self.outcome == oc.ANSWERED):
            raise ValueError("answered_at is set exactly for answered calls")
        if self.wrap_up_seconds < 0:
            raise ValueError("wrap_up_seconds cannot be negative")


def speed_of_answer(f: CallFacts) -> float:
    assert f.answered_at is not None
    return (f.answered_at - (f.queue_entered_at or f.arrived_at)).total_seconds()


def abandon_wait(f: CallFacts) -> float:
    return (f.ended_at - (f.queue_entered_at or f.arrived_at)).total_seconds()


def handle_seconds(f: CallFacts) -> float:
    assert f.answered_at is not None
    return ((f.talk_ended_at or f.ended_at) - f.answered_at).total_seconds() + f.wrap_up_seconds


def _answered(facts: Sequence[CallFacts]) -> list[CallFacts]:
    return [f for f in facts if f.outcome == oc.ANSWERED]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def offered(facts: Sequence[CallFacts]) -> int:
    """Calls that entered a queue (queue_entered_at set), whatever their outcome: short abandons,
    timeouts and callers who then chose voicemail or a callback included."""
    return sum(1 for f in facts if f.queue_entered_at is not None)


def answered(facts: Sequence[CallFacts]) -> int:
    """Calls with outcome ``answered`` (an agent picked up)."""
    return len(_answered(facts))


def abandoned(facts: Sequence[CallFacts]) -> int:
    """Callers who hung up waiting for an agent: ``abandoned_in_queue`` + ``lost_while_ringing``.
    Short abandons, queue timeouts, voicemails and callbacks are not abandoned."""
    return sum(1 for f in facts if f.outcome in ABANDONED_KINDS)


def short_abandons(facts: Sequence[CallFacts]) -> int:
    """Callers who hung up in the queue within the short-abandon threshold (counted apart)."""
    return sum(1 for f in facts if f.outcome == oc.SHORT_ABANDON)


def abandonment_rate(facts: Sequence[CallFacts]) -> float | None:
    """abandoned ÷ (answered + abandoned). Short abandons are in neither; voicemails, callbacks,
    timeouts and refusals are not in the denominator."""
    a = abandoned(facts)
    return _ratio(a, answered(facts) + a)


def service_level(facts: Sequence[CallFacts], within: float = SERVICE_LEVEL_SECONDS) -> float | None:
    """Answered with speed of answer ≤ ``within`` seconds ÷ answered."""
    ans = _answered(facts)
    return _ratio(sum(1 for f in ans if speed_of_answer(f) <= within), len(ans))


def service_level_with_abandons(facts: Sequence[CallFacts], within: float = SERVICE_LEVEL_SECONDS) -> float | None:
    """Answered with speed ≤ ``within`` ÷ (answered + abandoned with abandon wait > ``within``).

    Callers who abandoned within the target are in neither part (the center had no fair chance);
    those who waited past it and left count against the service level."""
    ans = _answered(facts)
    late = sum(1 for f in facts if f.outcome in ABANDONED_KINDS and abandon_wait(f) > within)
    return _ratio(sum(1 for f in ans if speed_of_answer(f) <= within), len(ans) + late)


def asa_from_queue(facts: Sequence[CallFacts]) -> float | None:
    """Average speed of answer: mean of speed of answer over answered calls, in seconds."""
    return _mean([speed_of_answer(f) for f in _answered(facts)])


def asa_from_arrival(facts: Sequence[CallFacts]) -> float | None:
    """Mean of answered_at − arrived_at over answered calls: the caller's whole wait, menus included."""
    return _mean([(f.answered_at - f.arrived_at).total_seconds() for f in _answered(facts) if f.answered_at])


def average_handle_time(facts: Sequence[CallFacts]) -> float | None:
    """Mean handle time (talk, hold included, plus wrap-up) over answered calls, in seconds."""
    return _mean([handle_seconds(f) for f in _answered(facts)])


def occupancy(facts: Sequence[CallFacts], idle_seconds: float) -> float | None:
    """Σ handle time of the answered calls ÷ (Σ handle time + ``idle_seconds``).

    ``idle_seconds`` is the time the agents concerned were available waiting for a call (the agent
    state machine's ``available`` time); paused and logged-out time is in neither part."""
    handle = sum(handle_seconds(f) for f in _answered(facts))
    return _ratio(handle, handle + idle_seconds)


def loss_by_stage(facts: Sequence[CallFacts]) -> dict[str, int]:
    """Count of lost calls per stage, every stage present (0 when none): C-2's ``ivr``, ``queue``,
    ``ringing``, ``refused``, and counted apart ``timeout``, ``short``, ``system``."""
    counts = dict.fromkeys(oc.LOSS_STAGE.values(), 0)
    for f in facts:
        stage = oc.LOSS_STAGE.get(f.outcome)
        if stage is not None:
            counts[stage] += 1
    return counts


@dataclass(frozen=True, kw_only=True)
class Figures:
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    abandonment_rate: float | None
    service_level: float | None
    service_level_with_abandons: float | None
    asa_from_queue: float | None
    asa_from_arrival: float | None
    average_handle_time: float | None
    occupancy: float | None
    loss_by_stage: dict[str, int]


def summarize(facts: Sequence[CallFacts], *, within: float = SERVICE_LEVEL_SECONDS,
              idle_seconds: float | None = None) -> Figures:
    """Every figure at once; occupancy is None unless the idle time is given."""
    return Figures(
        offered=offered(facts), answered=answered(facts), abandoned=abandoned(facts),
        short_abandons=short_abandons(facts), abandonment_rate=abandonment_rate(facts),
        service_level=service_level(facts, within),
        service_level_with_abandons=service_level_with_abandons(facts, within),
        asa_from_queue=asa_from_queue(facts), asa_from_arrival=asa_from_arrival(facts),
        average_handle_time=average_handle_time(facts),
        occupancy=None if idle_seconds is None else occupancy(facts, idle_seconds),
        loss_by_stage=loss_by_stage(facts),
    )


def grouped(facts: Sequence[CallFacts], key: Callable[[CallFacts], K], *, within: float = SERVICE_LEVEL_SECONDS,
            idle_seconds: Mapping[K, float] | None = None) -> dict[K, Figures]:
    """The figures per bucket (``by_hour``, ``by_day``, ``by_queue``, ``by_agent`` or any key),
    buckets in order of first appearance; ``idle_seconds`` per bucket for occupancy."""
    buckets: dict[K, list[CallFacts]] = {}
    for f in facts:
        buckets.setdefault(key(f), []).append(f)
    return {k: summarize(fs, within=within, idle_seconds=None if idle_seconds is None else idle_seconds.get(k))
            for k, fs in buckets.items()}


def by_hour(tz: tzinfo = CHINA) -> Callable[[CallFacts], datetime]:
    """Bucket by the local hour of arrival (the start of that hour, in ``tz``)."""
    return lambda f: f.arrived_at.astimezone(tz).replace(minute=0, second=0, microsecond=0)


def by_day(tz: tzinfo = CHINA) -> Callable[[CallFacts], date]:
    """Bucket by the local date of arrival."""
    return lambda f: f.arrived_at.astimezone(tz).date()


def by_queue(f: CallFacts) -> str | None:
    return f.queue


def by_agent(f: CallFacts) -> str | None:
    return f.agent
