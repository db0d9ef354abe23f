"""A-2: one masking function finds phone and ID numbers anywhere in text, and leaves the rest alone."""

from __future__ import annotations


import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcore.core.privacy import mask_fields, mask_id_card, mask_phone, scrub


@pytest.mark.parametrize("text,masked", [
    ("电话13912345678", "电话139****5678"),
    ("张三13912345678", "张三139****5678"),
    ("已电话联系您13900006666，身份证11010519491231002X已核实", "已电话联系您139****6666，身份证110105********002X已核实"),
    ("id 11010519491231002X", "id 110105********002X"),
    ("call 139-1234-5678 now", "call 139****5678 now"),
    ("call 139 1234 5678.", "call 139****5678."),
    ("+86 139 1234 5678", "139****5678"),
    ("+8613912345678", "139****5678"),
    ("座机010-12345678", "座机010****5678"),
    ("本地84561234", "本地84****34"),
])
def test_numbers_next_to_chinese_with_separators_and_x_are_masked(text: str, masked: str) -> None:
    assert scrub(text) == masked


@pytest.mark.parametrize("text", [
    "工单20261201000123已受理", "2026-12-01 10:00:00", "2026-12-01T10:00:00+08:00", "耗时3.1415926秒",
    "5f0c8a52-3d0e-4d0c-9a51-968811234567", "坐席1001", "查询码见短信", "v1.2.3456789",
])
def test_what_is_not_a_citizens_number_is_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678" and mask_phone(None) == ""
    assert mask_id_card("11010519491231002X") == "110105********002X"
    assert mask_fields({"caller_name": "李四13912345678", "queue": "general"}) == {
        "caller_name": "李四139****5678", "queue": "general"}


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
FILLER = st.text(alphabet=st.one_of(CJK, st.sampled_from(" ，。:：、（）")), min_size=1, max_size=6)
MOBILE = st.builds(lambda a, b: f"1{a}{b:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))
ID_CARD = st.builds(lambda region, y, m, d, seq, check: f"{region:06d}{y}{m:02d}{d:02d}{seq:03d}{check}",
                    st.integers(110000, 659999), st.integers(1930, 2020), st.integers(1, 12), st.integers(1, 28),
                    st.integers(0, 999), st.sampled_from("0123456789X"))


def _separated(number: str, sep: str) -> str:
    return f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}" if sep else number


@given(before=FILLER, after=FILLER, mobile=MOBILE, id_card=ID_CARD, sep=st.sampled_from(["", "-", " "]))
def test_no_number_embedded_in_chinese_text_leaves_whole(before: str, after: str, mobile: str, id_card: str,
                                                         sep: str) -> None:
    text = f"{before}{_separated(mobile, sep)}{after}{id_card}{before}"
    out = scrub(text)
    assert mobile not in out and _separated(mobile, sep) not in out
    assert id_card not in out and id_card[6:14] not in out
    assert out.count("*") >= 4 + 8
