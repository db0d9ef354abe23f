"""Numbers in Mandarin as a caller hears them, and the agent's greeting (T-7)."""

from __future__ import annotations

import pytest

from callcore.queues.speech import agent_intro_text, chinese_number, phone_digits


@pytest.mark.parametrize(("n", "text"), [
    (0, "零"), (1, "一"), (2, "二"), (10, "十"), (12, "十二"), (20, "二十"), (22, "二十二"), (100, "一百"),
    (105, "一百零五"), (110, "一百一十"), (1001, "一千零一"), (1010, "一千零一十"), (2000, "二千"),
    (10000, "一万"), (10001, "一万零一"), (10010, "一万零一十"), (100000, "十万"), (110000, "十一万"),
    (123456, "十二万三千四百五十六"), (99999999, "九千九百九十九万九千九百九十九"),
])
def test_chinese_numbers(n: int, text: str) -> None:
    assert chinese_number(n) == text


def test_two_before_a_measure_word_is_liang() -> None:
    assert chinese_number(2, counting=True) == "两"
    assert chinese_number(12, counting=True) == "十二"  # only a lone 2 changes


def test_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        chinese_number(-1)
    with pytest.raises(ValueError):
        chinese_number(100_000_000)


def test_agent_number_is_said_digit_by_digit() -> None:
    assert phone_digits("1001") == "幺零零幺"
    assert phone_digits("A-27") == "二七"
    assert agent_intro_text("1001") == "幺零零幺号话务员为您服务。"
