"""The pronunciation lexicon (issue 14): words espeak-ng misreads, given to it in pinyin."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcore.prompts import synth
from callcore.prompts.lexicon import Lexicon, LexiconError, default_lexicon, parse
from callcore.prompts.pronunciation import phonemes, syllables


def test_the_shipped_lexicon_reads_and_puts_words_in_pinyin() -> None:
    lex = default_lexicon()
    assert lex.entries["重新"] == ("chong2", "xin1")
    assert lex.apply("请重新选择") == "请 chong2 xin1 选择"
    assert lex.apply("没有重复") == "没有 chong2 fu4 "
    assert Lexicon({}).apply("请重新选择") == "请重新选择"


def test_longest_word_wins() -> None:
    lex = parse("假日\tjia4 ri4\n节假日\tjie2 jia4 ri4\n")
    assert lex.apply("节假日除外") == " jie2 jia4 ri4 除外"


def test_pinyin_really_changes_what_espeak_ng_says() -> None:
    """``espeak-ng -x 重新`` reads zhòng (ts.'ong51); with the lexicon it is chóng (ts.h'ong35)."""
    plain = syllables(phonemes("请重新选择"))
    fixed = syllables(phonemes(default_lexicon().apply("请重新选择")))
    assert plain[1] == "ts.'ong51"
    assert fixed[1] == "ts.h'ong35"
    assert plain[0] == fixed[0] and plain[2:] == fixed[2:]


async def test_every_prompt_is_synthesized_with_the_lexicon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[str] = []
    real = synth._espeak

    def recording(text: str, voice: str, out: Path) -> None:
        given.append(text)
        real(text, voice, out)

    monkeypatch.setattr(synth, "_espeak", recording)
    base = await synth.ensure_prompt("重听请按星号键", tmp_path)
    assert given == [" chong2 ting1 请按星号键"]
    # The cache key is the spoken text: a lexicon change makes a new file.
    assert base.name == synth.prompt_key("重听请按星号键") != synth.prompt_key("重听请按星号键", "yue")
    await synth.ensure_prompt("重听请按星号键", tmp_path, voice="yue")
    assert given[-1] == "重听请按星号键"  # pinyin only for the voice that reads it


@pytest.mark.parametrize(("source", "message"), [
    ("重新 chong2 xin1", "expected WORD<TAB>PINYIN"),
    ("chongxin\tchong2 xin1", "not a word in Chinese characters"),
    ("重新\tchong xin1", "not pinyin with a tone number"),
    ("重新\tchong2", "2 characters but 1 syllables"),
    ("重新\tchong2 xin1\n重新\tchong2 xin1", "listed twice"),
])
def test_bad_lines_are_refused_with_their_line(source: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse("# comment\n" + source, name="lex.tsv")
