"""Masking of citizens' personal data (A-2; PIPL counts phone and ID numbers as personal information).

``scrub`` finds them anywhere in free text: next to Chinese characters (which are word characters to
Python's regular expressions, so boundaries here are ASCII letters and digits only), written with separators
(139-1234-5678, 139 1234 5678, 010-12345678, +86 139...), and ID numbers ending in the X check
digit. It leaves alone what is not a citizen's: ticket numbers (the day and a sequence), dates,
decimals, identifiers with letters.
"""

from __future__ import annotations

import re

# Not a digit or an ASCII letter before/after (a Chinese character, a space, punctuation are fine);
# not inside a decimal or a dashed identifier either.
_BEFORE = r"(?<![0-9A-Za-z])(?<![0-9A-Za-z][.-])"
_AFTER = r"(?![0-9A-Za-z])(?![.-][0-9A-Za-z])"
# A resident ID number: region (6), birth date (8), sequence (3), check digit (a digit or X).
_ID_CARD = re.compile(_BEFORE + r"(\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx])" + _AFTER)
# Numbers written with separators: a mobile (3-4-4, optionally after +86), a landline with its area code
# (010-12345678, 010-1234-5678, 021 6123 4567), or after +86/0086 with the area code's 0 dropped (+86-10-12345678).
_SEPARATED = re.compile(
    _BEFORE + r"((?:\+?86[- ]?)?1[3-9]\d[- ]\d{4}[- ]\d{4}|\+?86[- ]?1[3-9]\d{9}|0\d{2,3}-\d{7,8}"
    r"|0[1-9]\d{1,2}[- ]\d{3,4}[- ]\d{4}|(?:\+|00)86[- ]?[1-9]\d{1,2}[- ](?:\d{7,8}|\d{3,4}[- ]\d{4}))" + _AFTER)
# Any other run of 7 or more digits (local numbers, numbers written whole), with an optional +.
_DIGITS = re.compile(_BEFORE + r"(\+?\d{7,})" + _AFTER)
# A ticket number (its day and a six-digit sequence): the hotline's, not a citizen's.
_TICKET_NUMBER = re.compile(r"20\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{6}")


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


def _masked_number(m: re.Match[str]) -> str:
    found = m.group(1)
    if _TICKET_NUMBER.fullmatch(found):
        return found
    digits = re.sub(r"[^\d]", "", found)
    if len(digits) == 13 and digits.startswith("861"):  # +86, then a mobile: masked as the mobile
        digits = digits[2:]
    return mask_phone(digits)


def scrub(text: str) -> str:
    """Masks every phone and ID number in free text (log lines, names, summaries, replies)."""
    text = _ID_CARD.sub(lambda m: mask_id_card(m.group(1)), text)
    text = _SEPARATED.sub(_masked_number, text)
    return _DIGITS.sub(_masked_number, text)


# Keys whose values are a citizen's personal data wherever they appear in an event's data.
PERSONAL_KEYS = frozenset({"caller_number", "caller_name", "phone", "callback_number", "collected", "id_card"})


def mask_fields(data: dict[str, object]) -> dict[str, object]:
    """A copy of ``data`` with every personal value masked (numbers in names included)."""
    return {k: scrub(str(v)) if k in PERSONAL_KEYS and v is not None else v for k, v in data.items()}
