"""Which agents to ring for a waiting caller (T-5): the six ring strategies, pure.

``choose`` takes the queue's members, every member's live ``AgentState`` and the strategy's memory
and returns a ``RingPlan``. Only eligible agents (``agents.can_ring``) are in it, and only those of
the lowest penalty level that has an eligible agent: a higher level (a less skilled or an overflow
agent) is rung only when nobody below it can be. Every ordering ends with member order and then the
agent id, so the same inputs always give the same plan (random draws from the ``rng`` passed in).

The daemon rings ``plan.now`` (everyone for ringall, the first agent otherwise), and after a ring
without answer asks again: agents' states have changed by then, and the memory has moved on.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from callcore.queues.agents import AgentState, answered_on, can_ring

RINGALL: Final = "ringall"
RRMEMORY: Final = "rrmemory"
LEASTRECENT: Final = "leastrecent"
FEWESTCALLS: Final = "fewestcalls"
RANDOM: Final = "random"
LINEAR: Final = "linear"
STRATEGIES: Final = (RINGALL, RRMEMORY, LEASTRECENT, FEWESTCALLS, RANDOM, LINEAR)



@dataclass(frozen=True, kw_only=True)
class Member:
    """An agent's place in one queue: ``penalty`` 0 is tried first (skill level), ``order`` is the
    position in the configured member list (linear and round-robin follow it)."""

    agent_id: str
    penalty: int = 0
    order: int = 0

    @property
    def key(self) -> tuple[int, str]:
        return (self.order, self.agent_id)


@dataclass(frozen=True, kw_only=True)
class RingMemory:
    """What round-robin remembers between callers: the last member rung, by its place in the list
    (so the turn survives that member leaving the list). Store it with the queue."""

    last_key: tuple[int, str] | None = None


@dataclass(frozen=True, kw_only=True)
class RingPlan:
    """The agents in the order to try them; ``together`` (ringall) means ring them all at once."""

    strategy: str
    order: tuple[str, ...]
    together: bool = False

    @property
    def now(self) -> tuple[str, ...]:
        """The agents to ring at this moment."""
        return self.order if self.together else self.order[:1]


def eligible(members: Sequence[Member], agents: Mapping[str, AgentState], skip: Collection[str] = ()) -> list[Member]:
    """The members that may be rung now, at the lowest penalty level that has any, in member order.

    An agent without a known state is not eligible; ``skip`` lets the daemon leave out agents it
    has just tried for this caller."""
    ready = [m for m in members if m.agent_id not in skip and m.agent_id in agents and can_ring(agents[m.agent_id])]
    if not ready:
        return []
    level = min(m.penalty for m in ready)
    return sorted((m for m in ready if m.penalty == level), key=lambda m: m.key)


def choose(strategy: str, members: Sequence[Member], agents: Mapping[str, AgentState], *, today: date,
           memory: RingMemory = RingMemory(), rng: random.Random | None = None,
           skip: Collection[str] = ()) -> RingPlan:
    """The plan for one waiting caller; an empty plan means nobody can be rung now.

    ``today`` is the hotline's local date (fewest calls counts today's answered calls); ``rng`` is
    required for the random strategy, so that tests and replays can seed it."""
    pool = eligible(members, agents, skip)
    if strategy == RINGALL:
        return RingPlan(strategy=strategy, order=_ids(pool), together=True)
    if strategy == LINEAR:
        ordered = pool
    elif strategy == RRMEMORY:
        last = memory.last_key
        ordered = pool if last is None else [m for m in pool if m.key > last] + [m for m in pool if m.key <= last]
    elif strategy == LEASTRECENT:
        ordered = sorted(pool, key=lambda m: _recency(agents[m.agent_id], m))
    elif strategy == FEWESTCALLS:
        ordered = sorted(pool, key=lambda m: (answered_on(agents[m.agent_id], today), m.key))
    elif strategy == RANDOM:
        if rng is None:
            raise ValueError("the random strategy needs an rng (random.Random) passed in")
        ordered = list(pool)
        rng.shuffle(ordered)
    else:
        raise ValueError(f"unknown ring strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    return RingPlan(strategy=strategy, order=_ids(ordered))


def remember(memory: RingMemory, members: Sequence[Member], rung: str) -> RingMemory:
    """The memory after ringing ``rung`` (round-robin starts after it next time); unchanged if
    ``rung`` is not a member."""
    for m in members:
        if m.agent_id == rung:
            return RingMemory(last_key=m.key)
    return memory


def _recency(s: AgentState, m: Member) -> tuple[int, datetime | None, tuple[int, str]]:
    # An agent who has not had a call yet is the least recent of all.
    ended = s.last_call_ended_at
    return (0, None, m.key) if ended is None else (1, ended, m.key)


def _ids(members: Sequence[Member]) -> tuple[str, ...]:
    return tuple(m.agent_id for m in members)
