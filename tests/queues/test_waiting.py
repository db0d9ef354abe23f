"""The waiting lines: priority, queue weight, entry time, and order independent of loading order."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.queues.waiting import (EMERGENCY, NORMAL, REPEAT_OPEN_TICKET, QueueLine, WaitingCaller,
                                     caller_priority, in_order, next_for_agent, offer_order, position, positions)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def caller(call_id: str, queue: str = "general", at: float = 0, seq: int = 0, priority: int = NORMAL) -> WaitingCaller:
    return WaitingCaller(call_id=call_id, queue=queue, entered_at=T0 + timedelta(seconds=at), seq=seq,
                         priority=priority)


def test_caller_priority_from_routing() -> None:
    assert caller_priority() == NORMAL
    assert caller_priority(open_ticket=True) == REPEAT_OPEN_TICKET
    assert caller_priority(category="emergency") == EMERGENCY
    assert caller_priority(category="emergency", open_ticket=True) == EMERGENCY
    assert caller_priority(category="complaint") == NORMAL
    assert EMERGENCY > REPEAT_OPEN_TICKET > NORMAL


def test_one_line_orders_by_priority_then_entry_then_sequence() -> None:
    callers = [
        caller("early", at=0, seq=1),
        caller("repeat", at=30, seq=4, priority=REPEAT_OPEN_TICKET),
        caller("same-ms-b", at=10, seq=3),
        caller("same-ms-a", at=10, seq=2),
        caller("emergency", at=60, seq=5, priority=EMERGENCY),
    ]
    assert [c.call_id for c in in_order(callers)] == ["emergency", "repeat", "early", "same-ms-a", "same-ms-b"]
    line = QueueLine(queue="general", callers=tuple(callers))
    assert position(line, "emergency") == 1 and position(line, "same-ms-b") == 5
    assert position(line, "gone") is None
    assert positions(line) == {"emergency": 1, "repeat": 2, "early": 3, "same-ms-a": 4, "same-ms-b": 5}


def test_an_agent_takes_the_heavier_queue_first() -> None:
    general = QueueLine(queue="general", weight=0, members=frozenset({"1001", "1002"}),
                        callers=(caller("g1", "general", at=0, seq=1, priority=EMERGENCY),))
    complaints = QueueLine(queue="complaints", weight=10, members=frozenset({"1001"}),
                           callers=(caller("c1", "complaints", at=100, seq=7),))
    lines = [general, complaints]
    # Weight beats both the caller's priority and the earlier entry in the lighter queue.
    assert next_for_agent("1001", lines) == complaints.callers[0]
    # 1002 does not serve the complaints queue.
    assert next_for_agent("1002", lines) == general.callers[0]
    assert next_for_agent("1003", lines) is None
    assert [c.call_id for c in offer_order("1001", lines)] == ["c1", "g1"]


def test_equal_weights_compare_priority_then_entry_across_queues() -> None:
    a = QueueLine(queue="a", members=frozenset({"1001"}),
                  callers=(caller("a1", "a", at=50, seq=3),
                           caller("a2", "a", at=90, seq=5, priority=REPEAT_OPEN_TICKET)))
    b = QueueLine(queue="b", members=frozenset({"1001"}), callers=(caller("b1", "b", at=20, seq=2),))
    assert [c.call_id for c in offer_order("1001", [a, b])] == ["a2", "b1", "a1"]


def test_callers_being_offered_elsewhere_are_skipped() -> None:
    line = QueueLine(queue="general", members=frozenset({"1001"}),
                     callers=(caller("x", at=0, seq=1), caller("y", at=5, seq=2)))
    assert next_for_agent("1001", [line], exclude={"x"}) == line.callers[1]
    assert next_for_agent("1001", [line], exclude={"x", "y"}) is None


def test_a_restarted_daemon_keeps_the_original_entry_times() -> None:
    # Reloaded after a restart (in another order, later): the stored entry time decides, not the reload.
    before = [caller("old", at=0, seq=10), caller("new", at=300, seq=11)]
    reloaded = [caller("new", at=300, seq=11), caller("old", at=0, seq=10)]
    assert in_order(reloaded) == in_order(before)


# --- properties ----------------------------------------------------------------------------------

callers_strategy = st.lists(
    st.builds(lambda q, at, seq, p: (q, at, seq, p), st.sampled_from(["a", "b", "c"]), st.integers(0, 20),
              st.integers(0, 5), st.sampled_from([NORMAL, REPEAT_OPEN_TICKET, EMERGENCY])),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(callers_strategy, st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)),
       st.randoms(use_true_random=False))
def test_order_does_not_depend_on_insertion_order(
        spec: list[tuple[str, int, int, int]], weights: dict[str, int], rnd: random.Random) -> None:
    callers = [caller(f"call{i}", q, at=at, seq=seq, priority=p) for i, (q, at, seq, p) in enumerate(spec)]

    def lines(cs: list[WaitingCaller]) -> list[QueueLine]:
        return [QueueLine(queue=q, weight=weights.get(q, 0), members=frozenset({"1001"}),
                          callers=tuple(c for c in cs if c.queue == q)) for q in ("a", "b", "c")]

    shuffled = list(callers)
    rnd.shuffle(shuffled)
    first, second = lines(callers), lines(shuffled)
    rnd.shuffle(second)
    assert offer_order("1001", first) == offer_order("1001", second)
    assert next_for_agent("1001", first) == next_for_agent("1001", second)
    order = offer_order("1001", first)
    assert next_for_agent("1001", first) == (order[0] if order else None)
    for line, other in zip(first, lines(shuffled)):
        assert positions(line) == positions(other)
    keys = [(-weights.get(c.queue, 0), -c.priority, c.entered_at, c.seq) for c in order]
    assert keys == sorted(keys)
