"""Every call ends in exactly one outcome: each case of C-2 from a realistic timeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.calls import events as ev
from callcore.calls import outcomes as oc
from callcore.calls.outcomes import Outcome, TimelineEvent, UnfinishedCall, classify

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
Step = tuple[float, str, dict[str, Any]]


def tl(*steps: Step) -> list[TimelineEvent]:
    return [TimelineEvent(type_, at(t), data) for t, type_, data in steps]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# Arrival and menus, then the caller picks the general queue at 10 s.
MENUS: list[Step] = [
    (0, ev.ARRIVED, {"caller_number": "13800000000"}),
    (0.2, ev.ANSWERED, {}),
    (0.3, ev.IVR_ENTERED, {"menu": "main"}),
    (0.3, ev.IVR_NODE, {"node": "main", "kind": "menu"}),
]
TO_QUEUE: list[Step] = [*MENUS, (10, ev.IVR_LEFT, {"how": "queue", "target": "general"}),
                        (10, ev.QUEUE_ENTERED, {"queue": "general", "position": 5, "seq": 41})]


def ended(at: float, by: str = "caller") -> Step:
    return (at, ev.ENDED, {"by": by})


def ring(at: float, agent: str) -> Step:
    return (at, ev.AGENT_RINGING, {"queue": "general", "agent": agent})


def ring_ended(at: float, agent: str, reason: str) -> Step:
    return (at, ev.AGENT_RING_ENDED, {"queue": "general", "agent": agent, "reason": reason})


def test_answered() -> None:
    calls = tl(*TO_QUEUE, ring(12, "1001"), ring_ended(20, "1001", ev.RING_ANSWERED),
               (20, ev.AGENT_ANSWERED, {"queue": "general", "agent": "1001"}),
               (20.5, ev.ANNOUNCEMENT, {"kind": ev.ANNOUNCE_AGENT}), (23, ev.BRIDGED, {"agent": "1001"}),
               (23, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_ANSWERED, "position": 1}), ended(200))
    # Waited from queue entry (10 s) to the agent picking up (20 s): 10 s.
    assert classify(calls) == Outcome(kind=oc.ANSWERED, queue="general", agent="1001", position=1, waited=10,
                                      queue_entered_at=at(10), answered_at=at(20))


def test_answered_even_if_the_caller_hangs_up_during_the_agents_number() -> None:
    calls = tl(*TO_QUEUE, ring(12, "1001"), (20, ev.TALK_STARTED, {}), ended(21))
    outcome = classify(calls)
    assert (outcome.kind, outcome.agent, outcome.loss_stage) == (oc.ANSWERED, "1001", None)


def test_the_daemon_answering_the_channel_is_not_an_answered_call() -> None:
    assert classify(tl(*MENUS, ended(30))).kind == oc.LOST_IN_IVR


def test_lost_in_ivr() -> None:
    calls = tl(*MENUS, (5, "dtmf", {"digit": "9"}), (8, ev.IVR_LEFT, {"how": "caller_hangup", "node": "main"}),
               ended(8))
    assert classify(calls) == Outcome(kind=oc.LOST_IN_IVR)
    assert classify(calls).loss_stage == "ivr"
    assert classify(tl((0, ev.ARRIVED, {}), ended(1))).kind == oc.LOST_IN_IVR  # gone before the menu


def test_abandoned_in_queue_with_position_and_wait_at_that_moment() -> None:
    calls = tl(*TO_QUEUE, (70, ev.ANNOUNCEMENT, {"kind": ev.ANNOUNCE_POSITION, "position": 3}),
               (100, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_CALLER_HANGUP, "position": 2}),
               ended(100.2))
    # Entered at 10 s in 5th place, hung up at 100 s in 2nd place: waited 90 s.
    assert classify(calls) == Outcome(kind=oc.ABANDONED_IN_QUEUE, queue="general", position=2, waited=90,
                                      queue_entered_at=at(10))
    assert classify(calls).loss_stage == "queue"


def test_abandoned_without_queue_left_uses_the_last_known_position_and_the_end() -> None:
    calls = tl(*TO_QUEUE, (70, ev.ANNOUNCEMENT, {"kind": ev.ANNOUNCE_POSITION, "position": 3}), ended(130))
    assert classify(calls) == Outcome(kind=oc.ABANDONED_IN_QUEUE, queue="general", position=3, waited=120,
                                      queue_entered_at=at(10))


def test_lost_while_ringing() -> None:
    calls = tl(*TO_QUEUE, ring(30, "1001"), ring_ended(45, "1001", ev.RING_NO_ANSWER), ring(50, "1002"), ended(55))
    assert classify(calls) == Outcome(kind=oc.LOST_WHILE_RINGING, queue="general", agent="1002", position=5,
                                      waited=45, queue_entered_at=at(10))
    assert classify(calls).loss_stage == "ringing"


def test_lost_while_ringing_when_the_daemon_ends_the_ring_first() -> None:
    calls = tl(*TO_QUEUE, ring(30, "1001"), ring_ended(40, "1001", ev.RING_CALLER_GONE),
               (40, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_CALLER_HANGUP, "position": 1}), ended(40))
    assert classify(calls) == Outcome(kind=oc.LOST_WHILE_RINGING, queue="general", agent="1001", position=1,
                                      waited=30, queue_entered_at=at(10))


def test_a_ring_that_ended_earlier_does_not_make_it_a_ringing_loss() -> None:
    calls = tl(*TO_QUEUE, ring(30, "1001"), ring_ended(45, "1001", ev.RING_NO_ANSWER), ended(80))
    assert classify(calls).kind == oc.ABANDONED_IN_QUEUE


def test_queue_timeout_even_if_a_message_follows() -> None:
    calls = tl(*TO_QUEUE, (610, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_TIMEOUT, "position": 4}),
               (640, ev.VOICEMAIL_LEFT, {"mailbox": "general"}), ended(641))
    assert classify(calls) == Outcome(kind=oc.QUEUE_TIMEOUT, queue="general", position=4, waited=600,
                                      queue_entered_at=at(10))


@pytest.mark.parametrize("how", [ev.LEFT_VOICEMAIL, ev.LEFT_CALLBACK])
def test_left_by_choice_from_the_queue(how: str) -> None:
    done = (ev.VOICEMAIL_LEFT, {"mailbox": "general"}) if how == ev.LEFT_VOICEMAIL else \
        (ev.CALLBACK_REQUESTED, {"number": "13800000000"})
    calls = tl(*TO_QUEUE, (100, ev.QUEUE_LEFT, {"queue": "general", "reason": how, "position": 3}),
               (130, done[0], done[1]), ended(131))
    assert classify(calls).kind == oc.LEFT_BY_CHOICE


def test_left_by_choice_from_the_menu() -> None:
    calls = tl(*MENUS, (9, ev.IVR_LEFT, {"how": "callback"}), (20, ev.CALLBACK_REQUESTED, {"number": "1380"}),
               ended(22, "system"))
    assert classify(calls) == Outcome(kind=oc.LEFT_BY_CHOICE)


def test_choosing_voicemail_then_leaving_nothing_is_a_loss_in_the_menus() -> None:
    calls = tl(*TO_QUEUE, (100, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_VOICEMAIL}), ended(104))
    assert classify(calls).kind == oc.LOST_IN_IVR


def test_refused_by_policy_and_at_the_door() -> None:
    blacklisted = tl(*MENUS, (1, ev.IVR_NODE, {"node": "blocked", "kind": "hangup"}),
                     (6, ev.IVR_LEFT, {"how": "hangup", "reason": "refused"}), (6, ev.REFUSED, {"node": "blocked"}),
                     (6, ev.HANGUP_REQUESTED, {"reason": "refused"}), ended(6.1, "system"))
    overload = tl((0, ev.ARRIVED, {}), (0, ev.REFUSED, {"reason": "overload"}), ended(0.5, "system"))
    assert classify(blacklisted) == classify(overload) == Outcome(kind=oc.REFUSED)
    assert classify(overload).loss_stage == "refused"


def test_short_abandon() -> None:
    calls = tl(*TO_QUEUE, ended(13))
    assert classify(calls) == Outcome(kind=oc.SHORT_ABANDON, queue="general", position=5, waited=3,
                                      queue_entered_at=at(10))
    assert classify(calls, short_abandon_seconds=2).kind == oc.ABANDONED_IN_QUEUE
    assert classify(tl(*TO_QUEUE, ended(15))).kind == oc.ABANDONED_IN_QUEUE  # exactly 5 s is not short
    # Short wins over ringing: an agent rung at once does not turn a misdial into a ringing loss.
    assert classify(tl(*TO_QUEUE, ring(10.1, "1001"), ended(12))).kind == oc.SHORT_ABANDON


LOOKUP: list[Step] = [*MENUS, (3, ev.IVR_NODE, {"node": "code", "kind": "collect"}),
                      (9, ev.IVR_NODE, {"node": "status", "kind": "lookup", "found": True, "status": "processing"})]


def test_served_by_self_service() -> None:
    # Heard the ticket's status, then hung up in the menus, or heard goodbye and was hung up on.
    assert classify(tl(*LOOKUP, (25, ev.IVR_LEFT, {"how": "caller_hangup"}), ended(25))).kind == \
        oc.SERVED_BY_SELF_SERVICE
    bye = tl(*LOOKUP, (26, ev.IVR_NODE, {"node": "bye", "kind": "hangup"}), (28, ev.IVR_LEFT, {"how": "hangup"}),
             (28, ev.HANGUP_REQUESTED, {"reason": "normal"}), ended(28, "system"))
    assert classify(bye) == Outcome(kind=oc.SERVED_BY_SELF_SERVICE)
    assert classify(bye).loss_stage is None


def test_a_lookup_that_found_nothing_is_not_self_service() -> None:
    calls = tl(*MENUS, (9, ev.IVR_NODE, {"node": "status", "kind": "lookup", "found": False}), ended(20))
    assert classify(calls).kind == oc.LOST_IN_IVR


def test_self_service_nodes_are_configurable() -> None:
    calls = tl(*MENUS, (5, ev.IVR_NODE, {"node": "hours_info", "kind": "play"}), ended(30))
    assert classify(calls).kind == oc.LOST_IN_IVR
    assert classify(calls, self_service_nodes=frozenset({"hours_info"})).kind == oc.SERVED_BY_SELF_SERVICE


def test_self_service_then_a_queue_counts_the_queue() -> None:
    calls = tl(*LOOKUP, (30, ev.QUEUE_ENTERED, {"queue": "general", "position": 1}), ended(90))
    assert classify(calls).kind == oc.ABANDONED_IN_QUEUE


def test_closed_by_system_after_the_closing_message() -> None:
    closed = tl(*MENUS[:3], (0.3, ev.IVR_NODE, {"node": "hours", "kind": "hours"}),
                (0.3, ev.IVR_NODE, {"node": "closed", "kind": "hangup"}),
                (9, ev.IVR_LEFT, {"how": "hangup", "reason": "closed"}), (9, ev.HANGUP_REQUESTED, {"reason": "closed"}),
                ended(9.1, "system"))
    assert classify(closed) == Outcome(kind=oc.CLOSED_BY_SYSTEM)
    assert classify(closed).loss_stage == "system"
    # Hanging up during the closing message is not a loss in the menus either.
    during = tl(*MENUS[:3], (0.3, ev.IVR_NODE, {"node": "closed", "kind": "hangup"}),
                (4, ev.IVR_LEFT, {"how": "caller_hangup", "node": "closed"}), ended(4))
    assert classify(during).kind == oc.CLOSED_BY_SYSTEM


def test_closed_by_system_while_queued() -> None:
    handed = tl(*TO_QUEUE, (60, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_SYSTEM, "position": 2}),
                (60, ev.HANDED_OFF, {"context": "callcore-fallback"}), ended(60, "system"))
    assert classify(handed) == Outcome(kind=oc.CLOSED_BY_SYSTEM, queue="general", position=2, queue_entered_at=at(10))
    # The apology after a hand-off, hung up on by the caller: still the system's doing.
    handed_then_caller = tl(*TO_QUEUE, (60, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_SYSTEM}),
                            ended(65))
    assert classify(handed_then_caller).kind == oc.CLOSED_BY_SYSTEM
    cut = tl(*TO_QUEUE, ended(60, "system"))
    assert classify(cut) == Outcome(kind=oc.CLOSED_BY_SYSTEM, queue="general", position=5, waited=50,
                                    queue_entered_at=at(10))


def test_an_unknown_hang_up_counts_against_us() -> None:
    assert classify(tl(*TO_QUEUE, ended(60, "unknown"))).kind == oc.ABANDONED_IN_QUEUE
    assert classify(tl(*MENUS, ended(60, "unknown"))).kind == oc.LOST_IN_IVR


def test_an_unfinished_call_has_no_outcome() -> None:
    with pytest.raises(UnfinishedCall):
        classify(tl(*TO_QUEUE))


# --- what the figures need ------------------------------------------------------------------------

def talk_ended(at_: float, wrap_up: Any = 30, by: str = "caller") -> Step:
    return (at_, ev.TALK_ENDED, {"agent": "1001", "by": by, "wrap_up": wrap_up})


def test_answered_carries_the_times_and_the_wrap_up_of_the_first_talk() -> None:
    calls = tl(*TO_QUEUE, ring(12, "1001"), (20, ev.AGENT_ANSWERED, {"queue": "general", "agent": "1001"}),
               (23, ev.TALK_STARTED, {"agent": "1001"}), talk_ended(180, by="agent"),
               (181, ev.SURVEY, {"score": 5}), talk_ended(190, wrap_up=99), ended(200))
    outcome = classify(calls)
    assert (outcome.queue_entered_at, outcome.answered_at, outcome.talk_ended_at) == (at(10), at(20), at(180))
    assert outcome.wrap_up_seconds == 30


def test_talk_started_alone_is_the_answer_and_no_talk_ended_means_no_wrap_up() -> None:
    outcome = classify(tl(*TO_QUEUE, ring(12, "1001"), (21, ev.TALK_STARTED, {"agent": "1001"}), ended(90)))
    assert (outcome.answered_at, outcome.talk_ended_at, outcome.wrap_up_seconds) == (at(21), None, 0.0)


def test_the_first_queue_entered_is_kept_across_a_second_queue() -> None:
    calls = tl(*TO_QUEUE, (40, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_SYSTEM}),
               (40, ev.QUEUE_ENTERED, {"queue": "complaints", "position": 2}), ended(90))
    outcome = classify(calls)
    assert (outcome.kind, outcome.queue, outcome.queue_entered_at, outcome.waited) == \
        (oc.ABANDONED_IN_QUEUE, "complaints", at(10), 80)


def test_a_call_that_never_queued_has_none_of_the_queue_facts() -> None:
    outcome = classify(tl(*MENUS, ended(30)))
    assert (outcome.queue_entered_at, outcome.answered_at, outcome.talk_ended_at, outcome.wrap_up_seconds) == \
        (None, None, None, 0.0)


@pytest.mark.parametrize("wrap_up", [None, "soon", -5, float("nan"), float("inf"), [30]])
def test_a_bad_wrap_up_counts_as_none(wrap_up: Any) -> None:
    calls = tl(*TO_QUEUE, (20, ev.AGENT_ANSWERED, {"agent": "1001"}), talk_ended(100, wrap_up), ended(101))
    assert classify(calls).wrap_up_seconds == 0.0


def test_a_wrap_up_given_as_text_is_read() -> None:
    calls = tl(*TO_QUEUE, (20, ev.AGENT_ANSWERED, {"agent": "1001"}), talk_ended(100, "12.5"), ended(101))
    assert classify(calls).wrap_up_seconds == 12.5


# --- properties ----------------------------------------------------------------------------------

any_data = st.fixed_dictionaries({}, optional={
    "queue": st.sampled_from(["general", "complaints"]), "agent": st.sampled_from(["1001", "1002"]),
    "position": st.integers(1, 9) | st.just("x"), "reason": st.sampled_from([*ev.LEFT_REASONS, *ev.RING_REASONS]),
    "kind": st.sampled_from(["lookup", "hangup", "menu", ev.ANNOUNCE_POSITION]), "found": st.booleans(),
    "how": st.sampled_from(["hangup", "queue", "caller_hangup"]),
    "wrap_up": st.floats(allow_nan=True) | st.text(max_size=3),
})
any_step = st.tuples(
    st.sampled_from([ev.QUEUE_ENTERED, ev.AGENT_RINGING, ev.AGENT_RING_ENDED, ev.AGENT_ANSWERED, ev.QUEUE_LEFT,
                     ev.ANNOUNCEMENT, ev.IVR_NODE, ev.IVR_LEFT, ev.REFUSED, ev.VOICEMAIL_LEFT, ev.HANGUP_REQUESTED,
                     ev.CALLBACK_REQUESTED, ev.HANDED_OFF, ev.TALK_STARTED, ev.TALK_ENDED]),
    any_data,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(any_step, max_size=15), st.sampled_from(["caller", "system", "unknown"]))
def test_every_ended_call_gets_exactly_one_known_outcome(steps: list[tuple[str, dict[str, Any]]], by: str) -> None:
    timeline = tl((0, ev.ARRIVED, {}), *[(n + 1.0, t, d) for n, (t, d) in enumerate(steps)], ended(99, by))
    outcome = classify(timeline)
    assert outcome.kind in oc.OUTCOMES
    assert outcome.waited is None or outcome.waited >= 0
    # Answered: a conversation began, or an agent picked up and the caller was not put back in the line.
    picked_up = False
    for t, _ in steps:
        if t == ev.TALK_STARTED:
            picked_up = True
            break
        picked_up = (picked_up or t == ev.AGENT_ANSWERED) and t != ev.QUEUE_ENTERED
    assert (outcome.kind == oc.ANSWERED) == picked_up
    # What figures.CallFacts requires of the facts it is built from.
    assert (outcome.answered_at is not None) == (outcome.kind == oc.ANSWERED)
    assert 0 <= outcome.wrap_up_seconds < float("inf")
    assert (outcome.queue_entered_at is not None) == any(t == ev.QUEUE_ENTERED for t, _ in steps)


EVERY_NAME = sorted({v for n, v in vars(ev).items()
                     if n.isupper() and isinstance(v, str) and not n.startswith(("RING_", "LEFT_", "ANNOUNCE_"))})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(EVERY_NAME), any_data), max_size=15),
       st.sampled_from(["caller", "system", "unknown"]))
def test_the_events_left_unread_change_no_outcome(steps: list[tuple[str, dict[str, Any]]], by: str) -> None:
    # The journal reads back only oc.READS: what classify looks at must all be in it.
    timeline = tl((0, ev.ARRIVED, {}), *[(n + 1.0, t, d) for n, (t, d) in enumerate(steps)], ended(99, by))
    assert classify([e for e in timeline if e.type in oc.READS]) == classify(timeline)


def test_an_agent_who_let_the_call_go_before_the_talk_is_not_the_answer() -> None:
    """1001 picked up and hung up during the agent-number announcement; the caller, back in the line,
    talked to 1002: answered by 1002, when 1002 picked up. A caller who gave up instead was abandoned."""
    base = [*TO_QUEUE, ring(12, "1001"), ring_ended(14, "1001", ev.RING_ANSWERED),
            (14, ev.AGENT_ANSWERED, {"queue": "general", "agent": "1001"}),
            (14, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_ANSWERED, "position": 1}),
            (15, ev.QUEUE_ENTERED, {"queue": "general", "position": 1, "again": True}), ring(16, "1002")]
    served = classify(tl(*base, ring_ended(18, "1002", ev.RING_ANSWERED),
                         (18, ev.AGENT_ANSWERED, {"queue": "general", "agent": "1002"}),
                         (18, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_ANSWERED, "position": 1}),
                         (21, ev.TALK_STARTED, {"agent": "1002"}), ended(60)))
    assert (served.kind, served.agent, served.answered_at, served.waited) == (oc.ANSWERED, "1002", at(18), 8)
    gave_up = classify(tl(*base, ring_ended(22, "1002", ev.RING_CALLER_GONE),
                          (22, ev.QUEUE_LEFT, {"queue": "general", "reason": ev.LEFT_CALLER_HANGUP, "position": 1}),
                          ended(22)))
    assert (gave_up.kind, gave_up.agent, gave_up.answered_at) == (oc.LOST_WHILE_RINGING, "1002", None)
