"""Citizens' phone numbers as people type them, normalised to one stored form (W-1).

Agents type what the citizen says: ``138 1234 5678``, ``+86-138-1234-5678``, ``0931-8888888``,
``(0931)8888888``, full-width digits from a Chinese input method. The numbering plan is Google's
libphonenumber (``phonenumbers``): a Chinese number must be a valid one (a mobile, or a landline
with its area code and a local number of the length that area uses); a number abroad, dialled
with ``00`` or ``+``, needs only a plausible length, since foreign plans change faster than anyone
here would notice. The stored form is what a Chinese trunk shows as caller ID and what the
dialling policy (``callcore.calls.outbound``) reads: digits only, the national form at home
(``13812345678``, ``09318888888``), ``00`` and the country code abroad.
"""

from __future__ import annotations

import phonenumbers

HOME = "CN"
_HOME_CODE = 86
# Longer input than this is not a phone number, however it is spaced.
MAX_INPUT = 40


class BadPhone(ValueError):
    """A number that is not a phone number; ``text`` says why, in Chinese."""

    def __init__(self, value: str, why: str = "") -> None:
        self.value = value
        self.text = f"电话号码格式不正确：{value}" + (f"（{why}）" if why else "")
        super().__init__(self.text)


def normalise(value: str) -> str:
    """The stored form of a typed number ("" stays ""), or ``BadPhone``."""
    typed = value.strip()
    if not typed:
        return ""
    if len(typed) > MAX_INPUT:
        raise BadPhone(typed[:MAX_INPUT] + "…", "太长")
    try:
        number = phonenumbers.parse(typed, HOME)
    except phonenumbers.NumberParseException:
        raise BadPhone(typed) from None
    if number.extension:
        raise BadPhone(typed, "不能带分机号")
    if number.country_code != _HOME_CODE:
        if not phonenumbers.is_possible_number(number):
            raise BadPhone(typed, "境外号码位数不对")
        return f"00{number.country_code}{number.national_number}"
    if not phonenumbers.is_valid_number(number):
        digits = "".join(ch for ch in typed if ch.isdigit())
        if digits.startswith("1") and 9 <= len(digits) <= 13:
            raise BadPhone(typed, "手机号码应为11位")
        if not digits.startswith(("0", "86", "1")) and 7 <= len(digits) <= 8:
            raise BadPhone(typed, "固定电话请加区号，如 0931-8888888")
        raise BadPhone(typed)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def tail(phone: str, digits: int = 4) -> str:
    """The last digits a dispatcher searches by (the stored number's; "" for no number)."""
    only = "".join(ch for ch in phone if ch.isdigit())
    return only[-digits:] if len(only) >= digits else ""
