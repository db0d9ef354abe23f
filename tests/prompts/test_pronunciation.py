"""The pronunciation check (issue 14): polyphones espeak-ng misreads in context, numbers in digits."""

from __future__ import annotations

from callcore.prompts.lexicon import Lexicon, default_lexicon, parse
from callcore.prompts.pronunciation import check_text, check_texts, is_polyphone, same_reading

NO_LEXICON = Lexicon({})


def test_chongxin_is_flagged_without_the_lexicon_and_passes_with_it() -> None:
    [found] = check_text("您的输入有误，请重新选择。", source="defaults.invalid", lexicon=NO_LEXICON)
    assert (found.kind, found.what, found.at, found.heard, found.expected) == ("misread", "重", 8, "zhong4", "chong2")
    assert "defaults.invalid" in str(found) and "lexicon.tsv" in str(found)
    assert check_text("您的输入有误，请重新选择。") == []


def test_a_wrong_tone_is_flagged_too() -> None:
    # Same syllable, other tone: 节假日 is jià, espeak-ng says jiǎ; 尽快 is jǐn, it says jìn.
    assert [(f.what, f.heard, f.expected) for f in check_text("法定节假日除外，我们会尽快回电", lexicon=NO_LEXICON)] == [
        ("假", "jia3", "jia4"), ("尽", "jin4", "jin3")]
    assert check_text("法定节假日除外，我们会尽快回电", lexicon=parse("节假日\tjie2 jia4 ri4\n尽快\tjin3 kuai4")) == []


def test_readings_espeak_ng_gets_right_pass() -> None:
    # 还 hái, 长 cháng, 为 wèi read as expected; 务 light (neutral) in 服务 is not a wrong word.
    assert check_text("您前面还有两位，话务员为您服务。长度", lexicon=NO_LEXICON) == []
    assert same_reading("wu33", "w'u51") and not same_reading("ts.'ong51", "ts.h'ong35")
    assert not same_reading("tS;'iA21", "tS;'iA51")


def test_polyphones_are_characters_with_several_readings_but_not_tone_sandhi() -> None:
    assert all(is_polyphone(c) for c in "重行长还乐为得地了着处调假几要应数便传发干降空")
    assert not any(is_polyphone(c) for c in "一不您务")


def test_numbers_written_in_digits_are_flagged() -> None:
    [found] = check_text("请拨打96881，按1", lexicon=NO_LEXICON)
    assert (found.kind, found.what, found.expected) == ("number", "96881", "九六八八幺")


async def test_check_texts_names_each_source() -> None:
    found = await check_texts([("a", "请重新选择"), ("b", "了解"), ("c", "您好")], lexicon=NO_LEXICON)
    assert [(f.source, f.what) for f in found] == [("a", "重"), ("b", "了")]
    assert await check_texts([("a", "请重新选择"), ("b", "了解")], lexicon=default_lexicon()) == []
