"""Audio in the one format the hotline plays: 8 kHz, mono, 16-bit signed PCM WAV (Asterisk ``slin``).

Used for synthesized prompts and for recorded prompts uploaded by admins (WAV or MP3). Segments are
joined with ``+`` (plain concatenation): ``AudioSegment.append`` cross-fades 100 ms by default and
eats the start of the next word.

Each prompt is also written in the trunk's codecs (G.711 A-law and mu-law, raw, as Asterisk's
``format_pcm`` reads them) beside the WAV: Asterisk picks the file that matches the channel's codec,
so a prompt is sent as it is stored instead of being transcoded frame by frame for every call.
"""

from __future__ import annotations

import audioop
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydub import AudioSegment

SAMPLE_RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit
MAX_UPLOAD_SECONDS = 600
UPLOAD_FORMATS = ("wav", "mp3")
# Raw G.711 twins of every prompt, by the file extension Asterisk knows them by.
G711_ENCODERS = {"alaw": audioop.lin2alaw, "ulaw": audioop.lin2ulaw}


class AudioError(ValueError):
    """Audio that cannot be turned into a playable prompt; the message is shown to the admin."""


def to_asterisk_wav(segment: AudioSegment) -> AudioSegment:
    """The segment resampled to 8 kHz mono 16-bit."""
    return segment.set_channels(CHANNELS).set_frame_rate(SAMPLE_RATE).set_sample_width(SAMPLE_WIDTH)


def read_wav(path: Path | str) -> AudioSegment:
    """Read a WAV and close it (pydub's ``from_wav(path)`` leaves the file open)."""
    with open(path, "rb") as fh:
        return AudioSegment.from_wav(fh)


def write_wav(segment: AudioSegment, path: Path | str) -> None:
    """Write a WAV and close it (pydub's ``export(path)`` returns the handle still open)."""
    with open(path, "wb") as fh:
        segment.export(fh, format="wav")


def write_prompt(segment: AudioSegment, base: Path) -> None:
    """Blocking: ``base``.wav and its G.711 twins, each written to a temporary name and moved into place.

    The WAV goes last: its presence is what marks a prompt as there (caches and the validator look
    for it), so a reader never finds the WAV without its twins.
    """
    pcm = to_asterisk_wav(segment)
    base.parent.mkdir(parents=True, exist_ok=True)
    outputs: list[tuple[str, bytes | None]] = [(ext, encode(pcm.raw_data, SAMPLE_WIDTH)) for ext, encode in G711_ENCODERS.items()]
    outputs.append(("wav", None))
    for ext, data in outputs:
        fd, tmp = tempfile.mkstemp(dir=base.parent, prefix=".prompt-", suffix=f".{ext}")
        try:
            with os.fdopen(fd, "wb") as fh:
                if data is None:
                    pcm.export(fh, format="wav")
                else:
                    fh.write(data)
            os.replace(tmp, base.with_suffix(f".{ext}"))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def has_twins(base: Path) -> bool:
    """True when the G.711 twins of the prompt ``base`` are there (prompts cached before they existed lack them)."""
    return all(base.with_suffix(f".{ext}").exists() for ext in G711_ENCODERS)


def join(segments: Iterable[AudioSegment]) -> AudioSegment:
    """Concatenate without cross-fade (see the module docstring)."""
    out = AudioSegment.empty()
    for seg in segments:
        out = out + seg
    return out


def is_playable(wav: Path) -> bool:
    """True when ``wav`` is a readable, non-empty WAV in the Asterisk format (used by the validator)."""
    try:
        seg = read_wav(wav)
    except Exception:  # noqa: BLE001 - pydub raises several unrelated kinds for a broken file
        return False
    return (
        len(seg) > 0
        and seg.frame_rate == SAMPLE_RATE
        and seg.channels == CHANNELS
        and seg.sample_width == SAMPLE_WIDTH
    )


def convert_upload(data: bytes, fmt: str, target: Path) -> Path:
    """Blocking: convert an uploaded WAV/MP3 to ``target`` (``.wav`` added); returns ``target`` without extension.

    Run it with ``asyncio.to_thread``. Raises ``AudioError`` for an unknown format, unreadable or empty
    audio, or audio longer than ``MAX_UPLOAD_SECONDS``.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in UPLOAD_FORMATS:
        raise AudioError(f"unsupported audio format {fmt!r}: use one of {', '.join(UPLOAD_FORMATS)}")
    try:
        seg = AudioSegment.from_file(io.BytesIO(data), format=fmt)
    except Exception as exc:  # noqa: BLE001 - ffmpeg/pydub failures come as several exception kinds
        raise AudioError(f"cannot read the {fmt} audio: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}") from exc
    if len(seg) == 0:
        raise AudioError("the audio is empty")
    if len(seg) > MAX_UPLOAD_SECONDS * 1000:
        raise AudioError(f"the audio is longer than {MAX_UPLOAD_SECONDS} s")
    base = target.with_suffix("")
    write_prompt(seg, base)
    return base
