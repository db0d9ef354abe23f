"""A-2, issue 15: every shape a citizen's number is written in is masked, and how much of it stays visible.

The masks keep only what staff need to tell numbers apart: 3 + 4 digits of a mobile (11 digits and
more), 2 + 2 digits of a shorter number, all of a short ID-like value hidden. The cases are the shapes
people type into tickets and agents hear: 7- to 10-digit local numbers, 11-digit mobiles, +86 and 0086
prefixes, landlines with their area code (separated or not), and numbers inside Chinese sentences.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcore.core.privacy import PERSONAL_KEYS, mask_fields, mask_id_card, mask_phone, scrub


def _visible_digits(masked: str) -> int:
    return len(re.sub(r"\D", "", masked))


@pytest.mark.parametrize("number,masked", [
    ("", ""),
    ("1", "1"),
    ("12", "12"),
    ("123", "*23"),
    ("1234", "**34"),
    ("12345", "12*45"),
    ("8456123", "84***23"),         # 7 digits: a local number without its area code
    ("84561234", "84****34"),       # 8 digits
    ("018456123", "01*****23"),     # 9
    ("0108456123", "01******23"),   # 10
    ("13912345678", "139****5678"),  # 11: a mobile
    ("861391234567", "861*****4567"),  # 12
])
def test_mask_phone_keeps_two_and_two_below_eleven_digits_three_and_four_from_eleven(number: str, masked: str) -> None:
    assert mask_phone(number) == masked
    assert len(mask_phone(number)) == len(number)


@given(st.integers(7, 10), st.data())
def test_a_7_to_10_digit_number_keeps_at_most_4_digits_visible(n: int, data: st.DataObject) -> None:
    number = data.draw(st.text(alphabet="0123456789", min_size=n, max_size=n))
    masked = mask_phone(number)
    assert _visible_digits(masked) == 4 and masked[:2] == number[:2] and masked[-2:] == number[-2:]
    assert scrub(f"电话{number}。") == f"电话{masked}。"


@pytest.mark.parametrize("value,masked", [
    (None, ""),
    ("", ""),
    ("123456", "******"),
    ("1234567890", "**********"),  # ten characters or fewer: nothing shown
    ("12345678901", "123456*8901"),
    ("110105491231002", "110105*****1002"),  # the old 15-digit card
    ("11010519491231002X", "110105********002X"),
])
def test_mask_id_card(value: str | None, masked: str) -> None:
    assert mask_id_card(value) == masked


@pytest.mark.parametrize("text,masked", [
    # 7-10 digits, whole or next to Chinese characters
    ("本地号码8456123请回电", "本地号码84***23请回电"),
    ("电话：0108456123", "电话：01******23"),
    # 11-digit mobiles, whole, separated, in a sentence, two in a row
    ("市民13912345678反映", "市民139****5678反映"),
    ("手机号：139-1234-5678。", "手机号：139****5678。"),
    ("13912345678/13812345678", "139****5678/138****5678"),
    ("联系人13912345678转3", "联系人139****5678转3"),
    # +86, 86 and 0086 before a mobile
    ("+86 139 1234 5678", "139****5678"),
    ("+86-139-1234-5678", "139****5678"),
    ("+8613912345678", "139****5678"),
    ("86 13912345678", "139****5678"),
    ("0086 139 1234 5678", "008********5678"),
    # landlines with their area code
    ("座机010-12345678", "座机010****5678"),
    ("座机0755-12345678", "座机075*****5678"),
    ("座机0755-1234567", "座机075****4567"),
    ("(010)12345678", "(010)12****78"),
    ("010 12345678", "010 12****78"),
    ("座机010-1234-5678", "座机010****5678"),
    ("电话021 6123 4567转分机", "电话021****4567转分机"),
    ("+86-10-12345678", "861*****5678"),
    ("+86 21 6123 4567", "862*****4567"),
    ("+861012345678", "861*****5678"),
])
def test_every_number_shape_is_masked(text: str, masked: str) -> None:
    assert scrub(text) == masked


def test_plus_86_before_a_number_that_is_not_a_mobile_masks_the_whole_number() -> None:
    """+86 is dropped only before a mobile (13 digits starting 861); any other 13-digit run keeps all of its
    digits in the mask's count."""
    assert scrub("0105551234567") == "010******4567"
    assert scrub("8601234567890") == "860******7890"


def test_a_number_too_short_to_be_a_phone_is_left_alone() -> None:
    assert scrub("房间123456，工号1001") == "房间123456，工号1001"


def test_mask_fields_masks_personal_keys_only_and_keeps_none() -> None:
    data: dict[str, object] = {"caller_number": "13912345678", "phone": None, "queue": "13912345678",
                               "collected": "8456123", "digits": 5}
    assert mask_fields(data) == {"caller_number": "139****5678", "phone": None, "queue": "13912345678",
                                 "collected": "84***23", "digits": 5}
    assert {"caller_number", "caller_name", "phone", "callback_number", "id_card"} <= PERSONAL_KEYS
