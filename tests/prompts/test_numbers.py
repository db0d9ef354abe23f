"""Numbers as a Mandarin caller hears them (issue 14): dates, times, amounts, codes."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from callcore.prompts.numbers import phone_digits, spoken_amount, spoken_date, spoken_time


@pytest.mark.parametrize(("day", "text"), [
    (date(2026, 12, 31), "二零二六年十二月三十一日"),
    (date(2027, 2, 26), "二零二七年二月二十六日"),
    (date(2026, 1, 1), "二零二六年一月一日"),
    (date(2030, 10, 10), "二零三零年十月十日"),
])
def test_dates_read_the_year_digit_by_digit_and_month_and_day_as_numbers(day: date, text: str) -> None:
    assert spoken_date(day) == text


@pytest.mark.parametrize(("moment", "twelve", "twentyfour"), [
    (time(15, 20), "下午三点二十分", "十五点二十分"),
    (time(8, 30), "上午八点三十分", "八点三十分"),
    (time(8, 5), "上午八点零五分", "八点零五分"),
    (time(14, 0), "下午两点", "十四点"),
    (time(2, 0), "凌晨两点", "两点"),
    (time(12, 10), "中午十二点十分", "十二点十分"),
    (time(0, 0), "凌晨零点", "零点"),
    (time(21, 45), "晚上九点四十五分", "二十一点四十五分"),
])
def test_times(moment: time, twelve: str, twentyfour: str) -> None:
    assert spoken_time(moment) == twelve
    assert spoken_time(moment, hours24=True) == twentyfour


@pytest.mark.parametrize(("value", "unit", "text"), [
    (123, "", "一百二十三"), (Decimal("123.50"), "元", "一百二十三点五元"), ("0.05", "", "零点零五"),
    (10, "个", "十个"), ("-3", "", "负三"), (105, "", "一百零五"),
])
def test_amounts_and_counts_as_numbers(value: int | Decimal | str, unit: str, text: str) -> None:
    assert spoken_amount(value, unit) == text


def test_bad_amounts_are_refused() -> None:
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            spoken_amount(bad)


def test_codes_and_phone_numbers_digit_by_digit_with_yao() -> None:
    assert phone_digits("96881") == "九六八八幺"
    assert phone_digits("138-0000-1111") == "幺三八零零零零幺幺幺幺"
