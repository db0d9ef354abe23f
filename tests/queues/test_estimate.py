"""Expected wait, its Mandarin announcement, and the staggering of periodic announcements."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.queues.estimate import (announcement_offset, announcement_text, expected_wait, next_announcement_at,
                                      spoken_minutes)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def test_expected_wait_is_the_median_scaled_by_position_over_agents() -> None:
    # waits 30, 45, 60, 90, 600 → median 60 s; position 3 with 2 agents → 60 × 3 ÷ 2 = 90 s.
    # (The 600 s outlier moves a mean to 165 s; the median ignores it.)
    assert expected_wait(3, 2, [30, 60, 90, 600, 45]) == 90
    # Only the last 3 answered callers count: 10, 20, 30 → median 20; position 1, 1 agent → 20 s.
    assert expected_wait(1, 1, [1000, 1000, 1000, 10, 20, 30], sample=3) == 20
    # An even count takes the middle pair's mean: 10, 20, 40, 50 → 30; position 2, 3 agents → 20 s.
    assert expected_wait(2, 3, [10, 20, 40, 50]) == 20


def test_no_estimate_without_data_or_agents() -> None:
    assert expected_wait(1, 0, [30, 40, 50]) is None  # nobody staffed
    assert expected_wait(1, 2, [30, 40]) is None  # fewer than 3 answered callers
    assert expected_wait(1, 2, [30, 40], min_samples=2) == 17.5  # median 35 × 1 ÷ 2
    assert expected_wait(1, 2, [], min_samples=0) is None
    with pytest.raises(ValueError, match="1-based"):
        expected_wait(0, 2, [30, 40, 50])


@pytest.mark.parametrize(("seconds", "minutes"), [(0, 1), (1, 1), (59, 1), (60, 1), (60.5, 2), (61, 2), (120, 2),
                                                  (121, 3), (3600, 60)])
def test_minutes_are_rounded_up_and_at_least_one(seconds: float, minutes: int) -> None:
    assert spoken_minutes(seconds) == minutes


def test_announcement_text() -> None:
    # Position 3 → two callers ahead; 90 s → rounded up to 2 minutes, said 两.
    assert announcement_text(3, 90) == "您前面还有两位，预计等待时间大约两分钟，请您耐心等待。"
    # Under a minute is never promised: 30 s is said as about one minute.
    assert announcement_text(1, 30) == "下一位就是您，预计等待时间大约一分钟，请您耐心等待。"
    assert announcement_text(13, None) == "您前面还有十二位，请您耐心等待。"
    assert announcement_text(106, 599) == "您前面还有一百零五位，预计等待时间大约十分钟，请您耐心等待。"
    with pytest.raises(ValueError):
        announcement_text(0, 30)


def test_the_schedule_of_one_caller() -> None:
    # seq 1 → offset 0.618… × 60 s = 37.08 s after entry, then every 60 s.
    offset = announcement_offset(1, 60)
    assert offset == pytest.approx(37.082, abs=0.001)
    first = T0 + timedelta(seconds=offset)
    assert next_announcement_at(entered_at=T0, seq=1, period=60, now=T0) == first
    assert next_announcement_at(entered_at=T0, seq=1, period=60, now=first) == first + timedelta(seconds=60)
    assert next_announcement_at(entered_at=T0, seq=1, period=60, now=T0 + timedelta(seconds=200)) == \
        first + timedelta(seconds=180)
    assert next_announcement_at(entered_at=T0, seq=1, period=0, now=T0) is None


def test_a_burst_of_callers_is_spread_over_the_period() -> None:
    # 3000 callers entering in the same second (seq 1…3000), period 60 s: 50 per second on average.
    # Without the offset all 3000 would be announced in one second.
    due: Counter[int] = Counter()
    for seq in range(1, 3001):
        at = next_announcement_at(entered_at=T0, seq=seq, period=60, now=T0 - timedelta(seconds=1))
        assert at is not None
        due[int((at - T0).total_seconds())] += 1
    assert len(due) == 60
    assert max(due.values()) <= 55 and min(due.values()) >= 45


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.floats(1, 600), st.floats(0, 10**5), st.floats(0, 10**5))
def test_the_schedule_is_a_fixed_grid_from_stored_data(seq: int, period: float, a: float, b: float) -> None:
    # Whatever moment the daemon asks at (before or after a restart), the answers lie on one grid.
    entered = T0
    first = entered + timedelta(seconds=announcement_offset(seq, period))
    for now_s in (a, b):
        now = entered + timedelta(seconds=now_s)
        at = next_announcement_at(entered_at=entered, seq=seq, period=period, now=now)
        assert at is not None and at > now
        assert at - now <= timedelta(seconds=period) + timedelta(microseconds=2)
        k = (at - first).total_seconds() / period
        assert k >= -1e-9 and abs(k - round(k)) < 1e-6
