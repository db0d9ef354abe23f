"""Blocking work on recording files: measuring, converting, copying. Run every function here with
``asyncio.to_thread``: a recording of a long call is tens of megabytes, and hashing or decoding it
on the event loop would stall the calls in progress."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment

CHUNK = 1024 * 1024
# ffmpeg converts an hour of 8 kHz audio in a few seconds; far beyond that it is stuck.
MP3_TIMEOUT = 300.0
# Speech at 8 kHz mono: 32 kbit/s keeps it intelligible at a tenth of the WAV's size.
MP3_BITRATE = "32k"
# Bytes before the audio in the WAV files Asterisk writes (RIFF, a 16-byte PCM format chunk, data).
WAV_HEADER = 44


class AudioFileError(RuntimeError):
    """A recording file that cannot be read or converted; the message says why."""


@dataclass(frozen=True, kw_only=True)
class FileFacts:
    size: int
    sha256: str
    # Seconds of audio, measured by decoding the file (frames / rate), not from timestamps.
    duration: float


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def duration_of(path: Path) -> float:
    """Seconds of audio in ``path``. A PCM WAV with Asterisk's 44-byte header is measured by its
    length, so a file its writer never closed (the sizes in the header still zero: Asterisk stopped
    mid-call) counts all the audio it holds; anything else as pydub decodes it."""
    header, size = _wav_header(path)
    pcm = _pcm_format(header)
    if pcm is not None:
        rate, width = pcm
        return round(max(0, size - WAV_HEADER) // width / rate, 3)
    try:
        with open(path, "rb") as fh:
            segment = AudioSegment.from_file(fh, format=path.suffix.lstrip(".") or "wav")
    except Exception as exc:  # noqa: BLE001 - pydub raises several unrelated kinds for a broken file
        raise AudioFileError(f"{path.name}: not readable audio ({type(exc).__name__}: {exc})") from exc
    return round(len(segment) / 1000.0, 3)


def _wav_header(path: Path) -> tuple[bytes, int]:
    """The first 44 bytes of ``path`` (Asterisk's whole WAV header) and the file's size."""
    with open(path, "rb") as fh:
        return fh.read(WAV_HEADER), os.fstat(fh.fileno()).st_size


def _is_wav(header: bytes) -> bool:
    """A RIFF header whose data chunk starts at byte 44, as Asterisk writes it."""
    return len(header) == WAV_HEADER and header[:4] == b"RIFF" and header[36:40] == b"data"


def _pcm_format(header: bytes) -> tuple[int, int] | None:
    """(sample rate, bytes per frame) of a plain PCM WAV header, else None."""
    if not _is_wav(header) or header[8:16] != b"WAVEfmt ":
        return None
    if int.from_bytes(header[16:20], "little") != 16 or int.from_bytes(header[20:22], "little") != 1:
        return None  # not a plain PCM format chunk
    rate = int.from_bytes(header[24:28], "little")
    width = int.from_bytes(header[32:34], "little")  # block align: channels x bytes per sample
    return (rate, width) if rate and width else None


def wav_closed(path: Path) -> bool:
    """Whether the writer of the WAV file at ``path`` has closed it: Asterisk writes the RIFF and data
    sizes into the header only at close (format_wav's ``update_header``), zero until then. False for
    a file not there (yet)."""
    try:
        header, size = _wav_header(path)
    except FileNotFoundError:
        return False
    if not _is_wav(header):
        return False
    riff = int.from_bytes(header[4:8], "little")
    data = int.from_bytes(header[40:44], "little")
    # Asterisk pads an odd data length with one byte after writing the sizes.
    return riff + 8 in (size, size - 1) and data + WAV_HEADER in (size, size - 1)


def measure(path: Path) -> FileFacts:
    """Size, checksum and duration of a finished recording; ``FileNotFoundError`` if it is not there."""
    size = path.stat().st_size
    return FileFacts(size=size, sha256=sha256_of(path), duration=duration_of(path) if size else 0.0)


def loudness_of(path: Path) -> float:
    """The average loudness of ``path`` in dBFS (pydub; ``-inf`` for digital silence)."""
    try:
        with open(path, "rb") as fh:
            segment = AudioSegment.from_file(fh, format=path.suffix.lstrip(".") or "wav")
    except Exception as exc:  # noqa: BLE001 - pydub raises several unrelated kinds for a broken file
        raise AudioFileError(f"{path.name}: not readable audio ({type(exc).__name__}: {exc})") from exc
    return float(segment.dBFS)


def to_mp3(wav: Path, mp3: Path) -> Path:
    """Converts ``wav`` to ``mp3`` once, written under a temporary name and moved into place, so a
    reader never gets half a file and two conversions of the same file cannot mix."""
    if mp3.exists():
        return mp3
    fd, tmp = tempfile.mkstemp(dir=mp3.parent, prefix=f".{mp3.stem}-", suffix=".mp3")
    os.close(fd)
    try:
        done = subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
             "-codec:a", "libmp3lame", "-b:a", MP3_BITRATE, "-f", "mp3", tmp],
            capture_output=True, timeout=MP3_TIMEOUT, check=False,
        )
        if done.returncode != 0:
            raise AudioFileError(f"{wav.name}: ffmpeg failed: {done.stderr.decode(errors='replace').strip()[-300:]}")
        os.replace(tmp, mp3)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioFileError(f"{wav.name}: not converted to MP3 ({exc})") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return mp3


def copy_verified(source: Path, target: Path, sha256: str | None) -> str:
    """Copies ``source`` to ``target`` and returns the copy's checksum; ``AudioFileError`` when it
    differs from ``sha256`` (the file changed since it was measured, or the copy is damaged)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, tmp)
    copied = sha256_of(tmp)
    if sha256 is not None and copied != sha256:
        tmp.unlink()
        raise AudioFileError(f"{source.name}: checksum differs from the one stored at recording time")
    os.replace(tmp, target)
    return copied


def remove(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def existing(paths: list[Path]) -> list[bool]:
    return [p.is_file() for p in paths]
