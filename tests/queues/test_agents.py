"""The agent state machine: every (status, event) pair allowed or refused, counters, properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.queues import agents as ag
from callcore.queues.agents import (AUTO_PAUSE_REASON, AgentEvent, AgentRules, AgentState, Answer, DeviceBusy,
                                    DeviceIdle, DeviceRegistered, DeviceUnregistered, Hangup, Login, Logout, Pause,
                                    Resume, Ring, RingCancelled, RingNoAnswer, WrapUpOver, answered_on, apply,
                                    can_ring, check_invariants, event_from_json, event_to_json, new_agent, replay)
from callcore.queues.errors import IllegalAgentTransition

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(*events: AgentEvent, state: AgentState | None = None, rules: AgentRules = ag.DEFAULT_RULES) -> AgentState:
    """Applies events one second apart, checking the invariants after each."""
    s = state or new_agent("1001", T0)
    for n, e in enumerate(events, start=1):
        s = apply(s, e, t(n), rules)
        check_invariants(s, rules)
    return s


READY = run(DeviceRegistered(), Login())
STATES: dict[str, AgentState] = {
    ag.LOGGED_OUT: new_agent("1001", T0),
    ag.AVAILABLE: READY,
    ag.RINGING: run(Ring("c1"), state=READY),
    ag.ON_CALL: run(Ring("c1"), Answer(), state=READY),
    ag.WRAP_UP: run(Ring("c1"), Answer(), Hangup(30), state=READY),
    ag.PAUSED: run(Pause("午休"), state=READY),
}
EVENTS: dict[str, AgentEvent] = {
    "login": Login(), "logout": Logout(), "pause": Pause("培训"), "resume": Resume(), "ring": Ring("c2"),
    "ring_no_answer": RingNoAnswer(), "ring_cancelled": RingCancelled(), "answer": Answer(), "hangup": Hangup(10),
    "wrap_up_over": WrapUpOver(), "device_registered": DeviceRegistered(),
    "device_unregistered": DeviceUnregistered(), "device_busy": DeviceBusy(), "device_idle": DeviceIdle(),
}
DEVICE = {"device_registered", "device_unregistered", "device_busy", "device_idle"}
# (status → events allowed); resume in ringing/on_call/wrap_up needs a pending pause (tested apart).
ALLOWED: dict[str, set[str]] = {
    ag.LOGGED_OUT: {"login"} | DEVICE,
    ag.AVAILABLE: {"logout", "pause", "ring"} | DEVICE,
    ag.RINGING: {"pause", "ring_no_answer", "ring_cancelled", "answer"} | DEVICE,
    ag.ON_CALL: {"pause", "hangup"} | DEVICE,
    ag.WRAP_UP: {"logout", "pause", "wrap_up_over"} | DEVICE,
    ag.PAUSED: {"logout", "pause", "resume"} | DEVICE,
}


@pytest.mark.parametrize("status", ag.STATUSES)
@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_status_event_pair(status: str, name: str) -> None:
    state = STATES[status]
    assert state.status == status
    if name in ALLOWED[status]:
        check_invariants(apply(state, EVENTS[name], t(100)))
    else:
        with pytest.raises(IllegalAgentTransition) as info:
            apply(state, EVENTS[name], t(100))
        assert info.value.status_name == status and info.value.event == name
        assert status in str(info.value) and name in str(info.value)
        assert info.value.status == 409 and info.value.error_id == "illegal_agent_transition"


def test_a_call_from_ring_to_wrap_up_and_back() -> None:
    s = run(Ring("c1"), state=READY)
    assert (s.status, s.call_id, s.since) == (ag.RINGING, "c1", t(1))
    s = apply(s, Answer(), t(5))
    assert (s.status, s.call_id, s.answered_today, s.answered_day) == (ag.ON_CALL, "c1", 1, date(2026, 3, 2))
    s = apply(s, Hangup(wrap_up_seconds=30), t(65))
    assert (s.status, s.call_id, s.last_call_ended_at, s.wrap_up_until) == (ag.WRAP_UP, "c1", t(65), t(95))
    s = apply(s, WrapUpOver(), t(95))
    assert (s.status, s.call_id, s.wrap_up_until, s.since) == (ag.AVAILABLE, None, None, t(95))
    assert can_ring(s)


def test_no_wrap_up_time_frees_the_agent_at_hang_up() -> None:
    s = run(Ring("c1"), Answer(), Hangup(0), state=READY)
    assert (s.status, s.call_id, s.last_call_ended_at) == (ag.AVAILABLE, None, t(3))


def test_an_agent_rings_for_one_call_at_a_time() -> None:
    ringing = STATES[ag.RINGING]
    with pytest.raises(IllegalAgentTransition, match="only an available agent"):
        apply(ringing, Ring("c2"), t(10))


def test_ring_needs_a_registered_idle_phone() -> None:
    with pytest.raises(IllegalAgentTransition, match="not registered"):
        run(Login(), Ring("c1"))
    with pytest.raises(IllegalAgentTransition, match="busy"):
        run(DeviceBusy(), Ring("c1"), state=READY)
    assert can_ring(run(DeviceBusy(), DeviceIdle(), state=READY))
    with pytest.raises(IllegalAgentTransition, match="call id"):
        apply(READY, Ring(""), t(5))


def test_answer_while_not_ringing_is_refused() -> None:
    with pytest.raises(IllegalAgentTransition, match="not ringing"):
        apply(READY, Answer(), t(5))


def test_device_changes_keep_the_status_and_its_start() -> None:
    s = run(DeviceBusy(), DeviceIdle(), DeviceUnregistered(), state=READY)
    assert (s.status, s.since, s.registered) == (ag.AVAILABLE, READY.since, False)
    assert not can_ring(s)


def test_consecutive_misses_pause_the_agent() -> None:
    s = run(Ring("c1"), RingNoAnswer(), Ring("c2"), RingNoAnswer(), state=READY)
    assert (s.status, s.missed_in_row, s.missed_total) == (ag.AVAILABLE, 2, 2)
    s = run(Ring("c3"), RingNoAnswer(), state=s)
    assert (s.status, s.pause_reason, s.missed_in_row, s.missed_total) == (ag.PAUSED, AUTO_PAUSE_REASON, 0, 3)
    s = run(Resume(), state=s)
    assert s.status == ag.AVAILABLE and can_ring(s)


def test_an_answer_or_a_cancelled_ring_breaks_or_keeps_the_streak() -> None:
    s = run(Ring("c1"), RingNoAnswer(), Ring("c2"), RingNoAnswer(), Ring("c3"), Answer(), Hangup(0), state=READY)
    assert (s.missed_in_row, s.missed_total) == (0, 2)
    s = run(Ring("c4"), RingNoAnswer(), Ring("c5"), RingCancelled(), state=s)
    assert (s.status, s.missed_in_row) == (ag.AVAILABLE, 1)


def test_a_phone_lost_while_ringing_counts_as_a_miss() -> None:
    s = run(Ring("c1"), DeviceUnregistered(), state=READY)
    assert (s.status, s.call_id, s.missed_in_row, s.registered) == (ag.AVAILABLE, None, 1, False)
    assert not can_ring(s)


def test_auto_pause_can_be_disabled() -> None:
    rules = AgentRules(max_missed_in_row=0)
    s = READY
    for n in range(5):
        s = run(Ring(f"c{n}"), RingNoAnswer(), state=s, rules=rules)
    assert (s.status, s.missed_in_row) == (ag.AVAILABLE, 5)


def test_pause_during_a_call_waits_for_the_end_of_wrap_up() -> None:
    s = run(Ring("c1"), Answer(), Pause("会议"), state=READY)
    assert (s.status, s.pending_pause, s.pause_reason) == (ag.ON_CALL, "会议", None)
    s = run(Hangup(20), state=s)
    assert (s.status, s.pending_pause) == (ag.WRAP_UP, "会议")
    s = run(WrapUpOver(), state=s)
    assert (s.status, s.pause_reason, s.pending_pause) == (ag.PAUSED, "会议", None)


def test_resume_cancels_a_pending_pause() -> None:
    s = run(Ring("c1"), Answer(), Pause("会议"), Resume(), Hangup(0), state=READY)
    assert (s.status, s.pending_pause) == (ag.AVAILABLE, None)


def test_pause_while_ringing_applies_when_the_ring_ends() -> None:
    s = run(Ring("c1"), Pause("休息"), RingCancelled(), state=READY)
    assert (s.status, s.pause_reason) == (ag.PAUSED, "休息")
    # A miss that reaches the limit wins over the pause asked for: the supervisor must see why.
    s = run(Ring("c1"), RingNoAnswer(), Ring("c2"), RingNoAnswer(), Ring("c3"), Pause("休息"), RingNoAnswer(),
            state=READY)
    assert (s.status, s.pause_reason, s.pending_pause) == (ag.PAUSED, AUTO_PAUSE_REASON, None)


def test_pausing_again_changes_the_reason() -> None:
    s = run(Pause("午休"), Pause("培训"), state=READY)
    assert (s.status, s.pause_reason, s.since) == (ag.PAUSED, "培训", t(2))
    with pytest.raises(IllegalAgentTransition, match="reason"):
        apply(s, Pause("  "), t(5))


def test_answered_calls_count_per_local_day() -> None:
    # 15:59 UTC is 23:59 in Beijing; 16:01 UTC is the next day there.
    late = replace(READY, since=datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))
    s = apply(late, Ring("c1"), datetime(2026, 3, 2, 15, 58, tzinfo=timezone.utc))
    s = apply(s, Answer(), datetime(2026, 3, 2, 15, 59, tzinfo=timezone.utc))
    s = apply(s, Hangup(0), datetime(2026, 3, 2, 16, 0, 30, tzinfo=timezone.utc))
    assert (s.answered_today, s.answered_day) == (1, date(2026, 3, 2))
    assert answered_on(s, date(2026, 3, 3)) == 0
    s = apply(s, Ring("c2"), datetime(2026, 3, 2, 16, 1, tzinfo=timezone.utc))
    s = apply(s, Answer(), datetime(2026, 3, 2, 16, 1, 5, tzinfo=timezone.utc))
    assert (s.answered_today, s.answered_day) == (1, date(2026, 3, 3))


def test_logout_from_wrap_up_and_login_again() -> None:
    s = run(Logout(), state=STATES[ag.WRAP_UP])
    assert (s.status, s.call_id, s.wrap_up_until, s.pause_reason) == (ag.LOGGED_OUT, None, None, None)
    s = run(Login(), state=s)
    assert s.status == ag.AVAILABLE and s.registered


def test_negative_wrap_up_is_refused() -> None:
    with pytest.raises(IllegalAgentTransition, match="negative"):
        apply(STATES[ag.ON_CALL], Hangup(-1), t(9))


def test_events_are_stored_by_name() -> None:
    assert event_to_json(Pause("午休")) == {"event": "pause", "reason": "午休"}
    assert event_to_json(Hangup(30)) == {"event": "hangup", "wrap_up_seconds": 30}
    for event in EVENTS.values():
        assert event_from_json(event_to_json(event)) == event
    with pytest.raises(ValueError, match="unknown agent event 'dance'"):
        event_from_json({"event": "dance"})
    with pytest.raises(ValueError, match="bad ring event"):
        event_from_json({"event": "ring"})


# --- properties ----------------------------------------------------------------------------------

event_strategy: st.SearchStrategy[AgentEvent] = st.sampled_from([
    Login(), Logout(), Resume(), RingNoAnswer(), RingCancelled(), Answer(), WrapUpOver(), DeviceRegistered(),
    DeviceUnregistered(), DeviceBusy(), DeviceIdle(), Pause("午休"), Pause("会议"), Pause(""), Ring("c1"), Ring("c2"),
    Ring(""), Hangup(0.0), Hangup(30.0), Hangup(-1.0),
])


# Sequences start from each status in turn (the prefix that leads there), so that random steps
# explore ringing, talking and wrapping up, not only logging in and out.
PREFIXES: list[list[AgentEvent]] = [
    [], [DeviceRegistered(), Login()], [DeviceRegistered(), Login(), Ring("c1")],
    [DeviceRegistered(), Login(), Ring("c1"), Answer()],
    [DeviceRegistered(), Login(), Ring("c1"), Answer(), Hangup(30)],
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PREFIXES), st.lists(st.tuples(event_strategy, st.floats(0, 3600)), max_size=60),
       st.integers(0, 4))
def test_random_sequences_stay_consistent_and_replay(
        prefix: list[AgentEvent], steps: list[tuple[AgentEvent, float]], limit: int) -> None:
    rules = AgentRules(max_missed_in_row=limit)
    state = new_agent("1001", T0)
    accepted: list[tuple[AgentEvent, datetime]] = []
    now = T0
    for event, gap in [(e, 1.0) for e in prefix] + steps:
        now += timedelta(seconds=gap)
        try:
            new = apply(state, event, now, rules)
        except IllegalAgentTransition:
            continue  # refused: the state is untouched (frozen dataclass)
        check_invariants(new, rules)
        if state.status in ag.WITH_CALL and new.status in ag.WITH_CALL:
            assert new.call_id == state.call_id, "a call id never changes until the agent is free"
        if new.status == ag.ON_CALL:
            assert new.call_id
        assert new.missed_total >= state.missed_total and new.answered_today >= 0
        accepted.append((event, now))
        state = new
    assert replay("1001", accepted, T0, rules) == state
    stored = [(event_from_json(event_to_json(e)), at) for e, at in accepted]
    assert replay("1001", stored, T0, rules) == state
