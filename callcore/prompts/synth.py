"""Mandarin text prompts (T-3): espeak-ng speech, converted to what Asterisk plays, cached by content.

A prompt's file name is the SHA-256 of its voice and text, so each text is synthesized once and a
changed text is a new file (calls still playing the old one keep it). Files are written to a temporary
name and moved into place with ``os.replace``: a concurrent reader never sees half a WAV, and two
daemons sharing ``sounds_dir`` race harmlessly.

Paths are returned without the ``.wav`` extension because that is how ARI media URIs name sounds
(``sound:/abs/path/without/ext``; Asterisk picks the format by extension itself).

On espeak-ng 1.51 the voice that reads Chinese characters with Mandarin tones is ``cmn-latn-pinyin``;
``cmn`` reads them letter by letter as English. Check with ``espeak-ng -q -v VOICE -x TEXT``. That
voice also reads pinyin with tone numbers, so the words of the pronunciation lexicon (``lexicon.py``)
are given to it in pinyin; the cache key is the text as spoken, so a lexicon change re-synthesizes the
prompts it touches.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import tempfile
import weakref
from pathlib import Path

from callcore.prompts.audio import has_twins, read_wav, write_prompt
from callcore.prompts.lexicon import default_lexicon
from callcore.prompts.numbers import PHONE_DIGITS

DEFAULT_VOICE = "cmn-latn-pinyin"
TTS_SUBDIR = "tts"
SYNTH_TIMEOUT = 30.0
# Voices that read pinyin with tone numbers (a voice variant such as ``+f3`` may follow).
PINYIN_VOICES = frozenset({"cmn-latn-pinyin"})

# The digit prompts of codes and phone numbers (``numbers.PHONE_DIGITS``: 1 is 幺).
DIGIT_WORDS = {str(d): word for d, word in enumerate(PHONE_DIGITS)}


class PromptError(RuntimeError):
    """A prompt could not be synthesized or converted; the message says which and why."""


def spoken_text(text: str, voice: str = DEFAULT_VOICE) -> str:
    """What espeak-ng is given for ``text``: the lexicon's words in pinyin, for a voice that reads pinyin."""
    return default_lexicon().apply(text) if voice.split("+")[0] in PINYIN_VOICES else text


def prompt_key(text: str, voice: str = DEFAULT_VOICE) -> str:
    """The cache key (and file name) of a text prompt: the text as spoken, so a lexicon change is heard."""
    return hashlib.sha256(f"{voice}\0{spoken_text(text, voice)}".encode("utf-8")).hexdigest()


def prompt_path(text: str, sounds_dir: Path, *, voice: str = DEFAULT_VOICE) -> Path:
    """Where ``text`` is (or will be) cached, without extension."""
    return Path(sounds_dir).resolve() / TTS_SUBDIR / prompt_key(text, voice)


# One lock per target file while someone is producing it; weak values so the table never grows and a
# lock never outlives the event loop it was bound to.
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_for(key: str) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _locks[key] = lock
    return lock


def _espeak(text: str, voice: str, out: Path) -> None:
    # Text goes through stdin so a prompt starting with "-" is never read as an option; -b 1 = UTF-8.
    try:
        proc = subprocess.run(
            ["espeak-ng", "-b", "1", "-v", voice, "-w", str(out), "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=SYNTH_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise PromptError("espeak-ng is not installed") from None
    except subprocess.TimeoutExpired:
        raise PromptError(f"espeak-ng took more than {SYNTH_TIMEOUT:.0f} s") from None
    if proc.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PromptError(f"espeak-ng failed for voice {voice!r}: {detail[-1] if detail else 'no audio produced'}")


def _synthesize(text: str, voice: str, base: Path) -> None:
    """Blocking: espeak-ng to a temporary WAV, then the prompt files (``write_prompt``) at ``base``."""
    base.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base.parent, prefix=".synth-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        _espeak(spoken_text(text, voice), voice, raw)
        try:
            segment = read_wav(raw)
        except Exception as exc:  # pydub raises bare exceptions of several kinds for a bad file
            raise PromptError(f"espeak-ng output unreadable: {exc}") from exc
        if len(segment) == 0:
            raise PromptError(f"espeak-ng produced no audio for {text!r}")
        write_prompt(segment, base)


def _add_twins(base: Path) -> None:
    """Blocking: the G.711 twins of a prompt cached before they were written."""
    write_prompt(read_wav(base.with_suffix(".wav")), base)


async def ensure_prompt(text: str, sounds_dir: Path, *, voice: str = DEFAULT_VOICE) -> Path:
    """The cached prompt for ``text`` (path without extension), synthesizing it on first use.

    Idempotent and safe to call concurrently for the same text: one coroutine synthesizes, the others
    wait for it and get the same path. The blocking work runs in a thread (``asyncio.to_thread``).
    Raises ``PromptError`` when the text cannot be spoken (empty text, unknown voice, espeak-ng missing).
    """
    if not text.strip():
        raise PromptError("empty prompt text")
    base = prompt_path(text, sounds_dir, voice=voice)
    wav = base.with_suffix(".wav")
    if wav.exists() and has_twins(base):
        return base
    async with _lock_for(str(base)):
        if not wav.exists():
            await asyncio.to_thread(_synthesize, text, voice, base)
        elif not has_twins(base):
            await asyncio.to_thread(_add_twins, base)
    return base


async def ensure_digits(sounds_dir: Path, *, voice: str = DEFAULT_VOICE) -> dict[str, Path]:
    """The ten digit prompts (0-9), read as in a code or phone number; digit -> path without extension."""
    paths = await asyncio.gather(*(ensure_prompt(word, sounds_dir, voice=voice) for word in DIGIT_WORDS.values()))
    return dict(zip(DIGIT_WORDS, paths, strict=True))


async def digit_media(digits: str, sounds_dir: Path, *, voice: str = DEFAULT_VOICE) -> list[str]:
    """ARI media URIs that speak ``digits`` one by one (numbers, dates and query codes, T-4).

    Characters other than 0-9 are skipped: a code is keyed on a telephone keypad.
    """
    table = await ensure_digits(sounds_dir, voice=voice)
    return [f"sound:{table[d]}" for d in digits if d in table]
