"""Numbers as a Mandarin caller hears them: the one place every spoken text gets its numbers from.

Prompts are synthesized by espeak-ng (T-3), which reads Arabic numerals badly: ``cmn-latn-pinyin``
(1.51) says "105" as 一百五 (150), "1005" as 一千五, a code "96881" as 九万六千八百八十一, and a date
written "12月31日" becomes whatever the digits around it suggest. So every number is written in
Chinese before synthesis, in the way a listener expects for its kind:

- counts and amounts as numbers: 一百二十三, 两位, 两分钟, 一百二十三点五元;
- dates with the year digit by digit and month and day as numbers: 二零二六年十二月三十一日;
- times of day: 下午三点二十分 (12-hour, as spoken to citizens) or 十五点二十分 (24-hour);
- codes, query codes, agent and phone numbers digit by digit, 1 as 幺 so it is not mistaken for 七
  on a poor line: 九六八八幺.

Check a reading with ``espeak-ng -q -v cmn-latn-pinyin -x TEXT``.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal, InvalidOperation

DIGITS = "零一二三四五六七八九"
# Telephone style: 1 is 幺 so it is not mistaken for 7 (七) on a poor line.
PHONE_DIGITS = "零幺二三四五六七八九"
_UNITS = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
MAX_NUMBER = 100_000_000


def chinese_number(n: int, *, counting: bool = False) -> str:
    """``n`` (0 ≤ n < 10⁸) in Chinese numerals: 12 → 十二, 105 → 一百零五, 10010 → 一万零一十.

    With ``counting`` (a number before a measure word: 位, 分钟, 点) 2 is said 两."""
    if not 0 <= n < MAX_NUMBER:
        raise ValueError(f"cannot say {n} in Chinese numerals here (0 to {MAX_NUMBER - 1})")
    if n == 2 and counting:
        return "两"
    if n == 0:
        return DIGITS[0]
    high, low = divmod(n, 10_000)
    if not high:
        return _section(low, leading=True)
    text = _section(high, leading=True) + "万"
    if low:
        text += ("零" if low < 1000 else "") + _section(low, leading=False)
    return text


def _section(n: int, *, leading: bool) -> str:
    """1 to 9999, with 零 for inner gaps; "一十" is said 十 only at the start of a number."""
    out: list[str] = []
    gap = False
    for value, unit in _UNITS:
        digit = n // value % 10
        if digit == 0:
            gap = bool(out)
            continue
        if gap:
            out.append("零")
            gap = False
        out.append(DIGITS[digit] + unit)
    text = "".join(out)
    return text[1:] if leading and text.startswith("一十") else text


def phone_digits(number: str) -> str:
    """A code or number said digit by digit (工号, query codes, phone numbers): "1001" → 幺零零幺.

    Characters other than 0-9 are dropped: a code is keyed on a telephone keypad."""
    return "".join(PHONE_DIGITS[int(d)] for d in number if d in "0123456789")


def spoken_amount(value: int | Decimal | str, unit: str = "") -> str:
    """An amount as a number: 123 → 一百二十三, "123.50" → 一百二十三点五, then ``unit`` (元, 个…).

    Digits after the point are said one by one (trailing zeros dropped), as Mandarin reads them."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    sign = "负" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    text = sign + chinese_number(int(whole))
    fraction = fraction.rstrip("0")
    if fraction:
        text += "点" + "".join(DIGITS[int(d)] for d in fraction)
    return text + unit


def spoken_date(day: date) -> str:
    """二零二六年十二月三十一日: the year digit by digit (with 零, as 〇 is read), month and day as numbers."""
    year = "".join(DIGITS[int(d)] for d in f"{day.year:04d}")
    return f"{year}年{chinese_number(day.month)}月{chinese_number(day.day)}日"


# Parts of the day a 12-hour time is said with, by the hour they start at.
_DAY_PARTS = ((0, "凌晨"), (6, "上午"), (12, "中午"), (13, "下午"), (18, "晚上"))


def spoken_time(moment: time, *, hours24: bool = False) -> str:
    """A time of day: 下午三点二十分 (default, as said to citizens) or 十五点二十分 (``hours24``).

    Two o'clock is 两点; minutes under ten get 零 (八点零五分); a full hour has no minutes (上午九点)."""
    hour = moment.hour
    if hours24:
        text = f"{chinese_number(hour, counting=True)}点"
    else:
        part = [name for start, name in _DAY_PARTS if hour >= start][-1]
        twelve = hour if hour <= 12 else hour - 12
        text = f"{part}{chinese_number(twelve, counting=True)}点"
    if moment.minute:
        text += ("零" if moment.minute < 10 else "") + f"{chinese_number(moment.minute)}分"
    return text
