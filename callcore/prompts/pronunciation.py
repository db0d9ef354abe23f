"""The pronunciation check: where espeak-ng would read a prompt text wrongly (``callcore prompts check``).

What is checked, for a voice that reads pinyin (``cmn-latn-pinyin``):

- **Polyphonic characters** (多音字: characters with more than one reading in pypinyin's dictionary,
  e.g. 重 行 长 还 了 应 假 尽) outside the lexicon's words. The expected reading in context comes
  from pypinyin's phrase dictionary; espeak-ng reads the clause as written and the expected pinyin
  of the same clause (``-x``, phoneme output), and the two are compared character by character:
  a different syllable, or a different full tone, is a misreading. A neutral tone where a full one
  is expected on the same syllable (务 in 服务) is espeak-ng's light reading, not a wrong word, and
  passes. 一 and 不 change tone by sandhi, which espeak-ng does not apply anywhere: not polyphones here.
- **Numbers written in digits** (two or more): espeak-ng reads them as a quantity (96881 →
  九万六千八百八十一); a prompt writes codes and numbers in Chinese (``callcore.prompts.numbers``).

Where the lexicon has a word, espeak-ng is given its pinyin (``lexicon.py``): the lexicon is the
fix for what this check finds, and wins over pypinyin where the two differ (重听: listen again).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from pypinyin import Style, lazy_pinyin, pinyin

from callcore.prompts.lexicon import HAN, Lexicon, default_lexicon
from callcore.prompts.synth import DEFAULT_VOICE, SYNTH_TIMEOUT, PromptError

# Tone sandhi, not polyphones: espeak-ng keeps their citation tone everywhere.
SANDHI = frozenset("一不")
DIGIT_RUN = re.compile(r"\d{2,}")
# espeak-ng's Mandarin tone contours (``-x``) -> tone number; 11, 22, 33, 44 are the neutral tone.
TONES = {"55": "1", "35": "2", "214": "3", "21": "3", "51": "4", "53": "4",
         "11": "5", "22": "5", "33": "5", "44": "5"}
_TONE = re.compile(r"\d+")
_WORD_SPLIT = re.compile(r"[_|\s]+")

Kind = Literal["misread", "number", "unaligned"]


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One place of a prompt text espeak-ng would say wrongly."""

    source: str  # where the text is shipped (menu node, system prompt name…)
    text: str
    kind: Kind
    at: int  # index in ``text``
    what: str  # the character, digits or clause concerned
    heard: str = ""  # what espeak-ng says (pinyin when recognised, else its phonemes)
    expected: str = ""  # pinyin

    def __str__(self) -> str:
        if self.kind == "misread":
            context = self.text[max(0, self.at - 4):self.at + 5]
            return (f"{self.source}: {self.what} in 「{context}」 is read {self.heard}, expected {self.expected}"
                    " (add the word to callcore/prompts/lexicon.tsv)")
        if self.kind == "number":
            return (f"{self.source}: {self.what} is read as an amount; write a code digit by digit in Chinese"
                    f" ({self.expected}) or a number in Chinese numerals")
        return f"{self.source}: espeak-ng's reading of 「{self.what}」 could not be matched character by character"


@lru_cache(maxsize=4096)
def phonemes(text: str, voice: str = DEFAULT_VOICE) -> str:
    """Blocking: espeak-ng's phoneme mnemonics for ``text`` (``-x``, no audio); remembered, as the same
    clauses recur across prompts and espeak-ng's reading of a text never changes within a process."""
    try:
        proc = subprocess.run(["espeak-ng", "-q", "-b", "1", "-x", "-v", voice, "--stdin"], input=text.encode("utf-8"),
                              capture_output=True, timeout=SYNTH_TIMEOUT, check=False)
    except FileNotFoundError:
        raise PromptError("espeak-ng is not installed") from None
    except subprocess.TimeoutExpired:
        raise PromptError(f"espeak-ng took more than {SYNTH_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PromptError(f"espeak-ng failed for voice {voice!r}: {detail[-1] if detail else proc.returncode}")
    return proc.stdout.decode("utf-8", "replace")


def syllables(mnemonics: str) -> list[str]:
    """The syllables of espeak-ng's ``-x`` output for Chinese text: one word (``_|``) per character."""
    return [w for w in _WORD_SPLIT.split(mnemonics) if _TONE.search(w)]


def normalized(syllable: str) -> tuple[str, str]:
    """(sounds, tone number) of one espeak-ng syllable, stress marks dropped: ``ts.'ong51`` → (ts.ong, 4)."""
    bare = syllable.replace("'", "").replace(",", "")
    m = _TONE.search(bare)
    assert m is not None  # ``syllables`` keeps only words with a tone
    return bare[:m.start()] + bare[m.end():], TONES.get(m.group(), m.group())


def same_reading(heard: str, expected: str) -> bool:
    """Same syllable, and the same tone unless one of them is the neutral tone."""
    (h_sounds, h_tone), (e_sounds, e_tone) = normalized(heard), normalized(expected)
    return h_sounds == e_sounds and (h_tone == e_tone or "5" in (h_tone, e_tone))


@cache
def readings(char: str) -> tuple[str, ...]:
    """Every reading pypinyin knows for ``char`` (tone numbers, 5 = neutral)."""
    return tuple(pinyin(char, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0])


def is_polyphone(char: str) -> bool:
    return char not in SANDHI and len(readings(char)) > 1


def _heard_as(char: str, heard: str, voice: str) -> str:
    """The reading of ``char`` that espeak-ng's syllable is (its phonemes when none is)."""
    for reading in readings(char):
        said = syllables(phonemes(reading, voice))
        if len(said) == 1 and same_reading(heard, said[0]) and normalized(heard)[1] == normalized(said[0])[1]:
            return reading
    return heard


def _check_clause(source: str, text: str, at: int, clause: str, voice: str) -> list[Finding]:
    if not any(is_polyphone(c) for c in clause):
        return []
    expected = lazy_pinyin(clause, style=Style.TONE3, neutral_tone_with_five=True)
    heard = syllables(phonemes(clause, voice))
    meant = syllables(phonemes(" ".join(expected), voice))
    if not len(heard) == len(meant) == len(clause) == len(expected):
        return [Finding(source=source, text=text, kind="unaligned", at=at, what=clause)]
    out = []
    for i, (char, said, should) in enumerate(zip(clause, heard, meant, strict=True)):
        if is_polyphone(char) and not same_reading(said, should):
            out.append(Finding(source=source, text=text, kind="misread", at=at + i, what=char,
                               heard=_heard_as(char, said, voice), expected=expected[i]))
    return out


def check_text(text: str, *, source: str = "", voice: str = DEFAULT_VOICE,
               lexicon: Lexicon | None = None) -> list[Finding]:
    """Blocking: what espeak-ng would say wrongly in ``text`` once the lexicon is applied."""
    from callcore.prompts.numbers import phone_digits

    lexicon = default_lexicon() if lexicon is None else lexicon
    out = [Finding(source=source, text=text, kind="number", at=m.start(), what=m.group(),
                   expected=phone_digits(m.group())) for m in DIGIT_RUN.finditer(text)]
    at = 0
    for piece in lexicon.pieces(text):
        if piece.kind == "text":
            for m in HAN.finditer(piece.text):
                out += _check_clause(source, text, at + m.start(), m.group(), voice)
        at += len(piece.text)
    return out


async def check_texts(texts: Iterable[tuple[str, str]], *, voice: str = DEFAULT_VOICE,
                      lexicon: Lexicon | None = None, concurrency: int = 4) -> list[Finding]:
    """Every finding in ``(source, text)`` pairs; espeak-ng runs in threads, never on the event loop."""
    gate = asyncio.Semaphore(concurrency)

    async def one(source: str, text: str) -> list[Finding]:
        async with gate:
            return await asyncio.to_thread(check_text, text, source=source, voice=voice, lexicon=lexicon)

    results = await asyncio.gather(*(one(s, t) for s, t in texts))
    return [f for found in results for f in found]
