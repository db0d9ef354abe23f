"""The keypad scale of T-14 and what each key means on a ticket.

The caller keys 1 (非常满意, very satisfied) … 4 (不满意, unsatisfied). A ticket's ``satisfaction``
has three rated values (W-11, S-1: satisfied ÷ rated), so the scale folds into them:

    key 1 非常满意 → satisfied            key 3 基本满意 → basically_satisfied
    key 2 满意     → satisfied            key 4 不满意   → unsatisfied

"Very satisfied" and "satisfied" are both satisfied citizens for the S-1 rate; the keypad keeps
the finer grade in the rating itself (``survey_ratings.rating``, the call's ``survey_rated`` event).
"""

from __future__ import annotations

from typing import Final

KEYS: Final = "1234"
WORDS: Final = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意"}
SATISFACTION: Final = {1: "satisfied", 2: "satisfied", 3: "basically_satisfied", 4: "unsatisfied"}


def rating_of(digit: str | None) -> int | None:
    """The rating a key gives, or None for any other key (or none)."""
    return int(digit) if digit is not None and len(digit) == 1 and digit in KEYS else None
