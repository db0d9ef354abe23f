"""The queue's event names agree with the call timeline's vocabulary (one spelling per name)."""

from __future__ import annotations

from types import ModuleType

from callcore.calls import events as call_events
from callcore.queues import events


def _call_vocabulary() -> ModuleType:
    return call_events


def test_names_shared_with_the_call_timeline_are_spelt_the_same() -> None:
    calls = _call_vocabulary()
    shared = [n for n in dir(events) if n.isupper() and hasattr(calls, n)]
    assert {"ARRIVED", "ENDED", "QUEUE_ENTERED", "AGENT_RINGING", "AGENT_RING_ENDED", "ANNOUNCEMENT"} <= set(shared)
    for name in shared:
        assert getattr(events, name) == getattr(calls, name), name


def test_new_names_do_not_collide_with_other_call_events() -> None:
    calls = _call_vocabulary()
    theirs = {v: n for n, v in vars(calls).items() if n.isupper() and isinstance(v, str)}
    for name in ("AGENT_ANSWERED", "BRIDGED", "QUEUE_LEFT", "CALLBACK_REQUESTED"):
        value = getattr(events, name)
        assert theirs.get(value, name) == name, f"{name}={value!r} is already {theirs.get(value)}"


def test_reasons_are_distinct() -> None:
    assert len(set(events.RING_REASONS)) == len(events.RING_REASONS)
    assert len(set(events.LEFT_REASONS)) == len(events.LEFT_REASONS)
    assert events.RING_MISSED <= set(events.RING_REASONS)
