"""Numbers as a Mandarin caller hears them, and the agent's greeting (T-7).

Announcements are text synthesized by espeak-ng (T-3), so numbers are written in Chinese here
rather than left to the synthesizer: espeak-ng 1.51's ``cmn-latn-pinyin`` reads "105" as
一百五 (150) and "1005" as 一千五, and says 二 where a listener expects 两 ("两分钟").
Check with ``espeak-ng -q -v cmn-latn-pinyin -x TEXT``.
"""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
# Telephone style: 1 is 幺 so it is not mistaken for 7 (七) on a poor line.
PHONE_DIGITS = "零幺二三四五六七八九"
_UNITS = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))


def chinese_number(n: int, *, counting: bool = False) -> str:
    """``n`` (0 ≤ n < 10⁸) in Chinese numerals: 12 → 十二, 105 → 一百零五, 10010 → 一万零一十.

    With ``counting`` (a number before a measure word: 位, 分钟) 2 is said 两."""
    if not 0 <= n < 100_000_000:
        raise ValueError(f"cannot say {n} in Chinese numerals here (0 to 99999999)")
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
    """A number said digit by digit (工号, query codes): "1001" → 幺零零幺. Non-digits are dropped."""
    return "".join(PHONE_DIGITS[int(d)] for d in number if d in "0123456789")


def agent_intro_text(agent_number: str) -> str:
    """What the caller hears when an agent answers, before the conversation (T-7)."""
    return f"{phone_digits(agent_number)}号话务员为您服务。"
