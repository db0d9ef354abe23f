"""The timeline's vocabulary: one spelling per name, distinct reasons, records that survive the spool."""

from __future__ import annotations

from datetime import datetime, timezone

from callcore.calls import events
from callcore.calls.events import CallEventRecord

# The constants that name a reason or a kind within one event's data, not an event.
_VALUE_PREFIXES = ("RING_", "LEFT_", "ANNOUNCE_")


def _names() -> dict[str, str]:
    return {n: v for n, v in vars(events).items()
            if n.isupper() and isinstance(v, str) and not n.startswith(_VALUE_PREFIXES)}


def test_every_event_name_is_spelt_once() -> None:
    names = _names()
    assert {"ARRIVED", "ENDED", "QUEUE_ENTERED", "AGENT_RINGING", "AGENT_RING_ENDED", "ANNOUNCEMENT", "AGENT_ANSWERED",
            "BRIDGED", "QUEUE_LEFT", "CALLBACK_REQUESTED", "TALK_STARTED", "TALK_ENDED"} <= set(names)
    by_value: dict[str, list[str]] = {}
    for name, value in names.items():
        by_value.setdefault(value, []).append(name)
    assert {v: ns for v, ns in by_value.items() if len(ns) > 1} == {}
    assert events.TALK_ENDED == "talk_ended"


def test_reasons_are_distinct() -> None:
    assert len(set(events.RING_REASONS)) == len(events.RING_REASONS)
    assert len(set(events.LEFT_REASONS)) == len(events.LEFT_REASONS)
    assert len(set(events.ANNOUNCEMENT_KINDS)) == len(events.ANNOUNCEMENT_KINDS)
    assert events.RING_MISSED <= set(events.RING_REASONS)
    assert set(events.TALK_ENDED_BY) == {"caller", "agent", "system"}


def test_a_record_survives_the_spools_json() -> None:
    record = CallEventRecord(id="e1", call_id="c1", seq=7, at=datetime(2026, 3, 2, 2, 0, 0, 123000, tzinfo=timezone.utc),
                             type=events.TALK_ENDED, data={"agent": "1001", "by": "agent", "wrap_up": 30.0})
    raw = record.to_json()
    assert raw["at"] == "2026-03-02T02:00:00.123Z"
    assert CallEventRecord.from_json(raw) == record
