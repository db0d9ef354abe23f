"""Measuring and converting recording files (the blocking side, run in threads by the services)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from callcore.recordings import audio
from tests.recordings.helpers import write_wav


def test_a_wav_is_measured_from_its_frames(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "r.wav", 3.5)
    facts = audio.measure(path)
    assert facts.duration == pytest.approx(3.5, abs=0.01)
    assert facts.size == path.stat().st_size
    assert facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_missing_file_is_not_found_and_a_broken_one_is_an_audio_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        audio.measure(tmp_path / "none.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav at all" * 10)
    with pytest.raises(audio.AudioFileError):
        audio.measure(bad)


def test_mp3_is_converted_once_and_lasts_as_long(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "r.wav", 2.0)
    mp3 = audio.to_mp3(wav, wav.with_suffix(".mp3"))
    data = mp3.read_bytes()
    assert data[:3] == b"ID3" or data[0] == 0xFF  # a tag, or an MPEG frame's sync
    assert audio.duration_of(mp3) == pytest.approx(2.0, abs=0.1)
    stamp = mp3.stat().st_mtime_ns
    audio.to_mp3(wav, mp3)
    assert mp3.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_copy_whose_checksum_differs_is_refused(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "r.wav", 1.0)
    with pytest.raises(audio.AudioFileError):
        audio.copy_verified(wav, tmp_path / "out" / "r.wav", "0" * 64)
    assert not (tmp_path / "out" / "r.wav").exists()
    sha = audio.copy_verified(wav, tmp_path / "out" / "r.wav", None)
    assert sha == audio.sha256_of(wav)
