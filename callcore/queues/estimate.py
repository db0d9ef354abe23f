"""Expected wait, what the caller is told about it, and when (T-5 periodic announcements).

The estimate is deliberately simple and robust: the median wait of the last answered callers
(a median, because one caller who waited through a staff change must not swing the announcement),
scaled by the caller's place over the agents serving the line. Nothing is promised without data:
with too little history, or nobody staffed, the caller hears the position only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from callcore.queues.speech import chinese_number

SAMPLE: Final = 20  # answered callers the median is taken over
MIN_SAMPLES: Final = 3  # fewer answered callers than this: no time is announced
# Golden-ratio fraction: consecutive sequence numbers land as far apart in the period as possible.
_PHI_FRACTION: Final = (math.sqrt(5) - 1) / 2


def expected_wait(position: int, agents: int, recent_waits: Sequence[float], *, sample: int = SAMPLE,
                  min_samples: int = MIN_SAMPLES) -> float | None:
    """Seconds a caller at ``position`` (1 = next) can expect to wait, or None when unknown.

    ``agents`` are the agents serving this line (logged in and not paused, busy or not);
    ``recent_waits`` the queue waits, in seconds, of the last answered callers, oldest first.
    Estimate = median(last ``sample`` waits) × position ÷ agents."""
    if position < 1:
        raise ValueError("position is 1-based")
    waits = [w for w in recent_waits[-sample:] if w >= 0] if sample > 0 else []
    if agents < 1 or len(waits) < max(1, min_samples):
        return None
    return statistics.median(waits) * position / agents


def spoken_minutes(seconds: float) -> int:
    """Whole minutes as announced: rounded up, and never less than one (a caller told "less than a
    minute" who then waits two feels deceived)."""
    return max(1, math.ceil(seconds / 60))


def announcement_text(position: int, expected_seconds: float | None) -> str:
    """The periodic announcement in Mandarin. ``position`` is the 1-based place in line, so the
    callers ahead are position − 1; ``expected_seconds`` None says the position only."""
    if position < 1:
        raise ValueError("position is 1-based")
    if position == 1:
        lead = "下一位就是您"
    else:
        lead = f"您前面还有{chinese_number(position - 1, counting=True)}位"
    if expected_seconds is None:
        return f"{lead}，请您耐心等待。"
    minutes = chinese_number(spoken_minutes(expected_seconds), counting=True)
    return f"{lead}，预计等待时间大约{minutes}分钟，请您耐心等待。"


def announcement_offset(seq: int, period: float) -> float:
    """The caller's own phase in the period, in seconds, from its entry sequence number alone."""
    return (seq * _PHI_FRACTION) % 1.0 * period


def next_announcement_at(*, entered_at: datetime, seq: int, period: float, now: datetime) -> datetime | None:
    """When the caller's next periodic announcement is due: the first moment strictly after ``now``
    of ``entered_at + offset(seq) + k × period`` (k = 0, 1, …); None when ``period`` ≤ 0 (off).

    Callers who arrive spread out keep their arrival's phase; a burst that entered in the same
    second (a television appeal, a daemon restart reloading its callers) has consecutive sequence
    numbers, which the golden-ratio offset spreads evenly over the period instead of announcing to
    all of them at once. Only stored data is used, so a restarted daemon keeps each schedule."""
    if period <= 0:
        return None
    first = entered_at + timedelta(seconds=announcement_offset(seq, period))
    if now < first:
        return first
    k = math.floor((now - first).total_seconds() / period) + 1
    at = first + timedelta(seconds=k * period)
    while at <= now:  # float rounding at the boundary
        k += 1
        at = first + timedelta(seconds=k * period)
    return at
