"""What the recordings tests share: WAV files as Asterisk writes them, calls and recording rows."""

from __future__ import annotations

import uuid
import wave
from datetime import datetime, timedelta
from pathlib import Path

from callcore.calls.models import Call
from callcore.recordings import audio
from callcore.recordings.models import DONE, Recording
from callcore.store.base import utcnow
from callcore.store.db import Database


def write_wav(path: Path, seconds: float, *, rate: int = 8000) -> Path:
    """A 16-bit mono WAV of ``seconds`` (Asterisk's ``wav`` format: 8 kHz signed linear)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(range(256)) * (frames * 2 // 256) + b"\x00" * (frames * 2 % 256))
    return path


def write_open_wav(path: Path, seconds: float = 0.2) -> Path:
    """A WAV as Asterisk leaves it while still writing: the header's sizes are zero until it closes the file."""
    write_wav(path, seconds)
    with open(path, "r+b") as fh:
        fh.seek(4)
        fh.write(b"\0\0\0\0")
        fh.seek(40)
        fh.write(b"\0\0\0\0")
    return path


async def add_call(db: Database, call_id: str | None = None) -> str:
    call_id = call_id or str(uuid.uuid4())
    async with db.session() as s:
        s.add(Call(id=call_id, channel_id=f"ch-{call_id[:8]}", arrived_at=utcnow(), status="ended", attributes={}))
    return call_id


async def add_recording(db: Database, directory: Path, call_id: str, *, seconds: float = 2.0,
                        started_at: datetime | None = None, with_file: bool = True) -> Recording:
    rec_id = str(uuid.uuid4())
    name = f"call-{call_id}-{rec_id[:8]}"
    path = directory / f"{name}.wav"
    started = started_at or utcnow() - timedelta(minutes=5)
    row = Recording(id=rec_id, call_id=call_id, name=name, bridge_id=f"call-{call_id}", agent="4001",
                    queue="general", path=str(path), format="wav", status=DONE, started_at=started,
                    ended_at=started + timedelta(seconds=seconds), missing=False)
    if with_file:
        write_wav(path, seconds)
        facts = audio.measure(path)
        row.duration, row.size, row.sha256 = facts.duration, facts.size, facts.sha256
    async with db.session() as s:
        s.add(row)
    return row
