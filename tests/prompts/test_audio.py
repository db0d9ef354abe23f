from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydub.generators import Sine

from callcore.prompts.audio import AudioError, convert_upload, is_playable, join, read_wav


def test_join_concatenates_without_crossfade() -> None:
    a = Sine(440).to_audio_segment(duration=300)
    b = Sine(660).to_audio_segment(duration=200)
    assert len(join([a, b])) == 500  # append() would cross-fade and give 400


def test_convert_wav_and_mp3_uploads(tmp_path: Path) -> None:
    seg = Sine(440).to_audio_segment(duration=400).set_frame_rate(44100).set_channels(2)
    for fmt in ("wav", "mp3"):
        buf = io.BytesIO()
        seg.export(buf, format=fmt)
        base = convert_upload(buf.getvalue(), fmt, tmp_path / f"rec_{fmt}")
        assert base.suffix == "" and is_playable(base.with_suffix(".wav"))
        out = read_wav(base.with_suffix(".wav"))
        assert (out.frame_rate, out.channels, out.sample_width) == (8000, 1, 2)
    with pytest.raises(AudioError, match="unsupported"):
        convert_upload(b"x", "ogg", tmp_path / "x")
    with pytest.raises(AudioError, match="cannot read"):
        convert_upload(b"garbage", "wav", tmp_path / "y")
    assert not (tmp_path / "y.wav").exists()
