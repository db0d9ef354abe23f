"""Masking of citizens' personal data (A-2): phone numbers and ID-card numbers."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(?<![\w.-])(\+?\d{7,})(?![\w.-])")


def mask_phone(number: str | None) -> str:
    """13812345678 -> 138****5678; shorter numbers keep two digits at each end."""
    if not number:
        return ""
    n = str(number)
    head, tail = (3, 4) if len(n) >= 11 else (2, 2)
    if len(n) <= head + tail:
        return "*" * max(0, len(n) - 2) + n[-2:]
    return n[:head] + "*" * (len(n) - head - tail) + n[-tail:]


def mask_id_card(value: str | None) -> str:
    """A resident ID card number keeps its first 6 (region) and last 4 characters."""
    if not value:
        return ""
    v = str(value)
    if len(v) <= 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def scrub(text: str) -> str:
    """Masks every long digit run in free text (log lines)."""
    return _DIGITS.sub(lambda m: mask_phone(m.group(1)), text)


# Keys whose values are a citizen's personal data wherever they appear in an event's data.
PERSONAL_KEYS = frozenset({"caller_number", "caller_name", "phone", "callback_number", "collected", "id_card"})


def mask_fields(data: dict[str, object]) -> dict[str, object]:
    """A copy of ``data`` with every personal value masked (numbers in names included)."""
    return {k: scrub(str(v)) if k in PERSONAL_KEYS and v is not None else v for k, v in data.items()}
