from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydub import AudioSegment, silence
from pydub.generators import WhiteNoise

from callcore.prompts.audio import read_wav
from callcore.prompts import synth
from callcore.prompts.synth import PromptError, digit_media, ensure_digits, ensure_prompt, prompt_key


def _wav(base: Path) -> AudioSegment:
    return read_wav(base.with_suffix(".wav"))


async def test_synthesizes_8khz_mono_16bit_named_by_hash(tmp_path: Path) -> None:
    base = await ensure_prompt("您好，欢迎致电市民热线。", tmp_path)
    assert base.suffix == ""
    assert base.name == prompt_key("您好，欢迎致电市民热线。", "cmn-latn-pinyin")
    seg = _wav(base)
    assert (seg.frame_rate, seg.channels, seg.sample_width) == (8000, 1, 2)
    assert len(seg) > 1500
    # Speech, not a silent or near-silent file of the right length: loud enough for a phone line, and
    # sound (above -45 dBFS, pauses under 100 ms bridged) over most of it.
    assert seg.dBFS > -30 and seg.max_dBFS > -10
    spoken = sum(end - start for start, end in silence.detect_nonsilent(seg, min_silence_len=100, silence_thresh=-45))
    assert spoken > 0.6 * len(seg)


def test_the_speech_check_refuses_silence_and_hiss() -> None:
    """The assertions above would fail on what a broken synthesis could leave: silence, or faint noise."""
    quiet = AudioSegment.silent(duration=3000, frame_rate=8000)
    assert not quiet.dBFS > -30
    hiss = WhiteNoise().to_audio_segment(duration=3000, volume=-50).set_frame_rate(8000).set_channels(1)
    assert not (hiss.dBFS > -30 and hiss.max_dBFS > -10)


async def test_cached_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = synth._synthesize

    def counting(*args: object) -> None:
        nonlocal calls
        calls += 1
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(synth, "_synthesize", counting)
    first = await ensure_prompt("请按一号键", tmp_path)
    mtime = first.with_suffix(".wav").stat().st_mtime_ns
    again = await ensure_prompt("请按一号键", tmp_path)
    assert again == first and calls == 1
    assert first.with_suffix(".wav").stat().st_mtime_ns == mtime
    other_voice = await ensure_prompt("请按一号键", tmp_path, voice="yue")
    assert other_voice != first and calls == 2


async def test_concurrent_requests_synthesize_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = synth._synthesize

    def counting(*args: object) -> None:
        nonlocal calls
        calls += 1
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(synth, "_synthesize", counting)
    paths = await asyncio.gather(*(ensure_prompt("请稍候", tmp_path) for _ in range(8)))
    assert len(set(paths)) == 1 and calls == 1
    leftovers = [p for p in (tmp_path / "tts").iterdir() if p.name.startswith(".")]
    assert leftovers == []


async def test_bad_voice_and_empty_text_are_errors(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="voice"):
        await ensure_prompt("你好", tmp_path, voice="zzzbogus")
    with pytest.raises(PromptError, match="empty"):
        await ensure_prompt("  ", tmp_path)
    assert not any((tmp_path / "tts").glob("*.wav"))


async def test_digits(tmp_path: Path) -> None:
    table = await ensure_digits(tmp_path)
    assert sorted(table) == list("0123456789")
    assert len(set(table.values())) == 10
    media = await digit_media("2026-1", tmp_path)
    assert media == [f"sound:{table[d]}" for d in "20261"]
    assert all(m.startswith("sound:/") for m in media)
