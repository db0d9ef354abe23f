"""T-14's keypad scale and its mapping onto a ticket's satisfaction (1, 2 → satisfied; 3 →
basically_satisfied; 4 → unsatisfied)."""

from __future__ import annotations

from callcore.surveys.scale import SATISFACTION, WORDS, rating_of
from callcore.tickets.workflow import SATISFACTION as TICKET_SATISFACTION


def test_keys_1_to_4_only() -> None:
    assert [rating_of(d) for d in "01234567*#"] == [None, 1, 2, 3, 4, None, None, None, None, None]
    assert rating_of(None) is None and rating_of("12") is None


def test_the_mapping_onto_the_ticket_scale() -> None:
    assert SATISFACTION == {1: "satisfied", 2: "satisfied", 3: "basically_satisfied", 4: "unsatisfied"}
    assert set(SATISFACTION.values()) <= set(TICKET_SATISFACTION) - {"unknown"}
    assert WORDS[1] == "非常满意" and WORDS[4] == "不满意"
