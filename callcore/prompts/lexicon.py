"""The pronunciation lexicon: words espeak-ng misreads, written in pinyin before synthesis.

espeak-ng's ``cmn-latn-pinyin`` voice picks one reading for most polyphonic characters (重新 is read
zhòng xīn: ``espeak-ng -q -v cmn-latn-pinyin -x 重新`` gives ``ts.'ong51``). The same voice reads
pinyin with tone numbers written in Latin letters (``chong2 xin1`` gives ``ts.h'ong35``), so a word of
the lexicon is replaced by its pinyin, surrounded by spaces, before the text goes to espeak-ng. The
table is ``lexicon.tsv`` beside this module (checked in, edited by people, one word a line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

LEXICON_FILE = Path(__file__).with_name("lexicon.tsv")
# One syllable of pinyin with its tone number (5 = neutral); ü may be written v.
SYLLABLE = re.compile(r"[a-zü]+[1-5]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


class LexiconError(ValueError):
    """A line of the lexicon that cannot be used; the message names the file and line."""


@dataclass(frozen=True, kw_only=True)
class Piece:
    """A stretch of a prompt text: as written (``text``) or a lexicon word read as ``pinyin``."""

    kind: Literal["text", "word"]
    text: str
    pinyin: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """Words (Chinese characters) and their pinyin, one syllable per character."""

    entries: dict[str, tuple[str, ...]]
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = sorted(self.entries, key=len, reverse=True)
        pattern = "|".join(re.escape(w) for w in words)
        object.__setattr__(self, "_pattern", re.compile(pattern) if pattern else None)

    def pieces(self, text: str) -> list[Piece]:
        """``text`` cut into its lexicon words and the stretches between them (longest word first)."""
        pattern = self._pattern
        if pattern is None:
            return [Piece(kind="text", text=text)] if text else []
        out: list[Piece] = []
        at = 0
        for m in pattern.finditer(text):
            if m.start() > at:
                out.append(Piece(kind="text", text=text[at:m.start()]))
            out.append(Piece(kind="word", text=m.group(), pinyin=self.entries[m.group()]))
            at = m.end()
        if at < len(text):
            out.append(Piece(kind="text", text=text[at:]))
        return out

    def apply(self, text: str) -> str:
        """What espeak-ng is given: every lexicon word replaced by `` pinyin `` (spaces keep syllables apart)."""
        return "".join(p.text if p.kind == "text" else f" {' '.join(p.pinyin)} " for p in self.pieces(text))


def parse(source: str, *, name: str = "lexicon") -> Lexicon:
    """A lexicon from its TSV text; ``LexiconError`` for a line that is not ``WORD<TAB>pin1 yin1``."""
    entries: dict[str, tuple[str, ...]] = {}
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, tab, reading = line.partition("\t")
        word = word.strip()
        syllables = tuple(reading.lower().replace("v", "ü").split())
        where = f"{name}:{number}"
        if not tab or not word or not syllables:
            raise LexiconError(f"{where}: expected WORD<TAB>PINYIN, got {line!r}")
        if not HAN.fullmatch(word):
            raise LexiconError(f"{where}: {word!r} is not a word in Chinese characters")
        if bad := [s for s in syllables if not SYLLABLE.fullmatch(s)]:
            raise LexiconError(f"{where}: {' '.join(bad)!r} is not pinyin with a tone number (e.g. chong2)")
        if len(syllables) != len(word):
            raise LexiconError(f"{where}: {word!r} has {len(word)} characters but {len(syllables)} syllables")
        if word in entries:
            raise LexiconError(f"{where}: {word!r} is listed twice")
        entries[word] = syllables
    return Lexicon(entries)


def load(path: Path = LEXICON_FILE) -> Lexicon:
    return parse(path.read_text(encoding="utf-8"), name=str(path))


@cache
def default_lexicon() -> Lexicon:
    """The shipped lexicon, read once per process."""
    return load()
