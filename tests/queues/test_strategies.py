"""Ring strategies: eligibility, penalty levels, each strategy's order, determinism."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.queues import agents as ag
from callcore.queues.agents import AgentState, can_ring
from callcore.queues.errors import IllegalAgentTransition
from callcore.queues.strategies import (FEWESTCALLS, LEASTRECENT, LINEAR, RANDOM, RINGALL, RRMEMORY, STRATEGIES,
                                        Member, RingMemory, choose, eligible, remember)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 3, 2)
MEMBERS = [Member(agent_id=a, order=i) for i, a in enumerate(["1001", "1002", "1003", "1004"])]


def ready(agent_id: str, **changes: Any) -> AgentState:
    base = AgentState(agent_id=agent_id, status=ag.AVAILABLE, since=T0, registered=True)
    return replace(base, **changes)


def all_ready(*ids: str) -> dict[str, AgentState]:
    return {a: ready(a) for a in ids}


AGENTS = all_ready("1001", "1002", "1003", "1004")


def test_only_eligible_agents_are_rung() -> None:
    agents = {
        "1001": ready("1001", status=ag.PAUSED, pause_reason="午休"),
        "1002": ready("1002", registered=False),
        "1003": ready("1003", device_busy=True),
        "1004": ready("1004", status=ag.WRAP_UP, call_id="c0", wrap_up_until=T0),
        "1005": ready("1005", status=ag.RINGING, call_id="c9"),  # ringing for another caller
        "1006": ready("1006", status=ag.ON_CALL, call_id="c8"),
        "1007": ready("1007", status=ag.LOGGED_OUT),
        "1008": ready("1008"),
        "1010": ready("1010"),
    }
    members = [Member(agent_id=f"10{n:02d}", order=n) for n in range(1, 11)]  # 1009 has no state: not eligible
    assert [m.agent_id for m in eligible(members, agents)] == ["1008", "1010"]
    assert [m.agent_id for m in eligible(members, agents, skip={"1008"})] == ["1010"]
    for strategy in STRATEGIES:
        plan = choose(strategy, members, agents, today=TODAY, rng=random.Random(1))
        assert set(plan.order) == {"1008", "1010"}, strategy


def test_lower_penalty_first_and_higher_only_when_none_is_free() -> None:
    members = [Member(agent_id="1001", penalty=1, order=0), Member(agent_id="1002", penalty=0, order=1),
               Member(agent_id="1003", penalty=0, order=2), Member(agent_id="1004", penalty=2, order=3)]
    assert choose(LINEAR, members, AGENTS, today=TODAY).order == ("1002", "1003")
    busy = {**AGENTS, "1002": ready("1002", status=ag.ON_CALL, call_id="c1"),
            "1003": ready("1003", registered=False)}
    assert choose(LINEAR, members, busy, today=TODAY).order == ("1001",)
    assert choose(RINGALL, members, {"1004": ready("1004")}, today=TODAY).order == ("1004",)


def test_ringall_rings_everyone_eligible_at_once() -> None:
    plan = choose(RINGALL, MEMBERS, AGENTS, today=TODAY)
    assert plan.together and plan.order == ("1001", "1002", "1003", "1004") and plan.now == plan.order


def test_linear_follows_member_order_then_id() -> None:
    members = [Member(agent_id="1003", order=0), Member(agent_id="1002", order=1), Member(agent_id="1001", order=1)]
    plan = choose(LINEAR, members, AGENTS, today=TODAY)
    assert plan.order == ("1003", "1001", "1002") and plan.now == ("1003",) and not plan.together


def test_nobody_eligible_gives_an_empty_plan() -> None:
    for strategy in STRATEGIES:
        plan = choose(strategy, MEMBERS, {}, today=TODAY, rng=random.Random(0))
        assert plan.order == () and plan.now == ()


def test_rrmemory_goes_round_from_the_last_one_rung() -> None:
    memory = RingMemory()
    rung = []
    for _ in range(6):
        plan = choose(RRMEMORY, MEMBERS, AGENTS, today=TODAY, memory=memory)
        rung.append(plan.now[0])
        memory = remember(memory, MEMBERS, plan.now[0])
    assert rung == ["1001", "1002", "1003", "1004", "1001", "1002"]


def test_rrmemory_skips_busy_agents_and_survives_a_removed_member() -> None:
    memory = remember(RingMemory(), MEMBERS, "1002")
    busy = {**AGENTS, "1003": ready("1003", status=ag.ON_CALL, call_id="c1")}
    assert choose(RRMEMORY, MEMBERS, busy, today=TODAY, memory=memory).order == ("1004", "1001", "1002")
    without_1002 = [m for m in MEMBERS if m.agent_id != "1002"]
    assert choose(RRMEMORY, without_1002, AGENTS, today=TODAY, memory=memory).order == ("1003", "1004", "1001")
    assert remember(memory, MEMBERS, "9999") == memory


def test_leastrecent_rings_the_longest_idle_first() -> None:
    agents = {
        "1001": ready("1001", last_call_ended_at=T0 - timedelta(minutes=1)),
        "1002": ready("1002", last_call_ended_at=T0 - timedelta(minutes=30)),
        "1003": ready("1003"),  # no call yet today: least recent of all
        "1004": ready("1004", last_call_ended_at=T0 - timedelta(minutes=30)),  # tie with 1002: member order
    }
    assert choose(LEASTRECENT, MEMBERS, agents, today=TODAY).order == ("1003", "1002", "1004", "1001")


def test_fewestcalls_counts_today_only() -> None:
    agents = {
        "1001": ready("1001", answered_today=5, answered_day=TODAY),
        "1002": ready("1002", answered_today=9, answered_day=TODAY - timedelta(days=1)),  # yesterday: 0 today
        "1003": ready("1003", answered_today=2, answered_day=TODAY),
        "1004": ready("1004", answered_today=2, answered_day=TODAY),
    }
    assert choose(FEWESTCALLS, MEMBERS, agents, today=TODAY).order == ("1002", "1003", "1004", "1001")


def test_random_is_reproducible_with_a_seeded_source() -> None:
    a = choose(RANDOM, MEMBERS, AGENTS, today=TODAY, rng=random.Random(42))
    b = choose(RANDOM, MEMBERS, AGENTS, today=TODAY, rng=random.Random(42))
    assert a == b and sorted(a.order) == ["1001", "1002", "1003", "1004"]
    orders = {choose(RANDOM, MEMBERS, AGENTS, today=TODAY, rng=random.Random(seed)).order for seed in range(30)}
    assert len(orders) > 5  # it does shuffle
    with pytest.raises(ValueError, match="rng"):
        choose(RANDOM, MEMBERS, AGENTS, today=TODAY)


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ring strategy 'roundrobin'"):
        choose("roundrobin", MEMBERS, AGENTS, today=TODAY)


# --- properties ----------------------------------------------------------------------------------

agent_state = st.builds(
    lambda aid, status, registered, busy, ended, calls: ready(
        aid, status=status, registered=registered, device_busy=busy,
        last_call_ended_at=None if ended is None else T0 - timedelta(seconds=ended),
        answered_today=calls, answered_day=TODAY),
    st.just(""), st.sampled_from([ag.AVAILABLE, ag.PAUSED, ag.LOGGED_OUT, ag.ON_CALL]), st.booleans(),
    st.booleans(), st.none() | st.integers(0, 5000), st.integers(0, 30),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), agent_state), min_size=0, max_size=8), st.sampled_from(STRATEGIES),
       st.integers(0, 7), st.integers(0, 2**32))
def test_a_plan_is_the_eligible_agents_of_the_lowest_level(
        spec: list[tuple[int, AgentState]], strategy: str, last: int, seed: int) -> None:
    members = [Member(agent_id=f"a{i}", penalty=p, order=i) for i, (p, _) in enumerate(spec)]
    agents = {f"a{i}": replace(s, agent_id=f"a{i}") for i, (_, s) in enumerate(spec)}
    memory = remember(RingMemory(), members, f"a{last}")
    plan = choose(strategy, members, agents, today=TODAY, memory=memory, rng=random.Random(seed))
    ok = [m for m in members if can_ring(agents[m.agent_id])]
    level = min((m.penalty for m in ok), default=None)
    assert sorted(plan.order) == sorted(m.agent_id for m in ok if m.penalty == level)
    assert len(set(plan.order)) == len(plan.order)
    again = choose(strategy, list(reversed(members)), agents, today=TODAY, memory=memory, rng=random.Random(seed))
    assert again == plan, "the member list's order of arrival does not matter, only ``order``"


simulation_step = st.one_of(
    st.tuples(st.just("agent"), st.integers(0, 3), st.sampled_from(
        [ag.Login(), ag.Logout(), ag.Pause("午休"), ag.Resume(), ag.RingNoAnswer(), ag.RingCancelled(), ag.Answer(),
         ag.Hangup(0), ag.Hangup(30), ag.WrapUpOver(), ag.DeviceRegistered(), ag.DeviceUnregistered(),
         ag.DeviceBusy(), ag.DeviceIdle()])),
    st.tuples(st.just("offer"), st.integers(0, 10**6), st.sampled_from(STRATEGIES)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(simulation_step, max_size=80))
def test_plans_only_ring_agents_that_can_take_the_ring(steps: list[tuple[str, int, Any]]) -> None:
    """Agents and strategies together: whatever happened before, ringing a plan's agents is legal
    (a strategy never picks an agent the state machine would refuse), and every state stays consistent."""
    # Everyone starts logged in with a registered phone, so that the sequences reach rings and calls.
    agents = {m.agent_id: ag.apply(ag.apply(ag.new_agent(m.agent_id, T0), ag.DeviceRegistered(), T0), ag.Login(), T0)
              for m in MEMBERS}
    memory = RingMemory()
    now = T0
    for n, (kind, arg, what) in enumerate(steps):
        now += timedelta(seconds=7)
        if kind == "agent":
            aid = MEMBERS[arg].agent_id
            try:
                agents[aid] = ag.apply(agents[aid], what, now)
            except IllegalAgentTransition:
                pass
        else:
            plan = choose(what, MEMBERS, agents, today=TODAY, memory=memory, rng=random.Random(arg))
            for aid in plan.now:
                agents[aid] = ag.apply(agents[aid], ag.Ring(f"call{n}"), now)  # never refused
                memory = remember(memory, MEMBERS, aid)
        for s in agents.values():
            ag.check_invariants(s)
