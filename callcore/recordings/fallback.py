"""Messages the dialplan's fallback took, joined to the voicemail list (T-10).

When the daemon's Stasis app is away, Asterisk's own ``VoiceMail`` takes the caller's message into
the mailbox ``<hotline>@callcore`` (``asterisk-conf/voicemail.conf.j2``); the calls' fallback import
(``callcore/calls/fallback.py``) writes the call from it at the next ARI (re)connect and hands every
message it reads to ``FallbackVoicemails``. Here each one becomes what the daemon's own messages are:
a recording row of kind voicemail linked to its call, its file copied into the recording directory
(Asterisk may renumber or move the mailbox's files; the copy is the one played, backed up and
deleted under retention), measured and marked ``too_short``/``silent`` in a thread like
``Voicemail``'s, then told to the voicemail listeners (the callback task) once.

The row's id is derived from Asterisk's message id, so importing the same mailbox again, after a
restart or a failed import, finds the row and does nothing: one row per message.

Once its row is stored, a message is removed from Asterisk's mailbox (``release``), but only when the
file there is still the one copied (same message id, same SHA-256): the copy is then the only one,
so deleting it under retention deletes the message, and the mailbox (``maxmsg`` per folder) never
fills up and turns callers away. app_voicemail never overwrites a message file; it numbers a new
message after the highest one present, under its folder lock, so removing one cannot touch another.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from callcore.calls.fallback import ImportedMessage, read_message
from callcore.recordings import audio
from callcore.recordings.models import DONE, VOICEMAIL, Recording
from callcore.recordings.voicemail import FORMAT, Voicemail, VoicemailLeft, measure_message, quality_of
from callcore.store.db import Database

log = logging.getLogger(__name__)

# Recording ids of fallback messages: uuid5 of Asterisk's message id in this namespace.
NAMESPACE = uuid.UUID("0d7c5e0e-6a43-4c55-a3c5-96881f0b1a11")
# Rows looked up per query (below SQLite's and asyncpg's limits on bound parameters).
CHUNK = 500
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def recording_id(msg_id: str) -> str:
    """The row of Asterisk's message ``msg_id``: the same on every import."""
    return str(uuid.uuid5(NAMESPACE, msg_id))


def recording_name(msg_id: str) -> str:
    """The copy's name in the recording directory (``<name>.wav``), safe as a file name."""
    return f"voicemail-fallback-{_UNSAFE.sub('_', msg_id)[:96]}"


def _copy_and_measure(source: Path, target: Path) -> tuple[audio.FileFacts, float]:
    audio.copy_verified(source, target, None)
    return measure_message(target)


def release(recording: Path, msg_id: str, sha256: str) -> bool:
    """Removes message ``msg_id`` (``recording``: its path without extension) from the mailbox when
    its audio still has the checksum of the stored copy; False (nothing removed) otherwise. The
    ``.txt`` goes first: a removal cut short leaves at most an audio file no import reads."""
    meta, wav = recording.with_suffix(".txt"), recording.with_suffix(f".{FORMAT}")
    try:
        if read_message(meta).msg_id != msg_id or audio.sha256_of(wav) != sha256:
            return False
    except (ValueError, OSError):
        return False
    meta.unlink(missing_ok=True)
    wav.unlink(missing_ok=True)
    return True


class FallbackVoicemails:
    """The fallback import's listener (``FallbackImporter.add_listener``)."""

    def __init__(self, *, db: Database, directory: Path, voicemail: Voicemail) -> None:
        """``directory`` is the recording directory the daemon's own messages are in."""
        self.db = db
        self.directory = directory
        self.voicemail = voicemail

    async def __call__(self, imported: Sequence[ImportedMessage]) -> None:
        """Stores the messages that have no row yet, each then told to the voicemail listeners. The
        store's outage errors propagate: the import hands the batch again next time."""
        by_id = {recording_id(i.message.msg_id): i for i in imported}
        stored = await self._stored(list(by_id))
        new = [(rec_id, i) for rec_id, i in by_id.items() if rec_id not in stored]
        for rec_id, item in new:
            row = await self._row(rec_id, item)
            async with self.db.session() as s:
                s.add(row)
            stored[rec_id] = row.sha256
            await self.voicemail.notify(VoicemailLeft(
                call_id=item.call_id, caller_number=item.message.caller_number, mailbox=item.mailbox, queue=None,
                recording_id=rec_id, at=row.started_at, quality=row.quality))
        if new:
            log.info("%d fallback voicemail(s) added to the voicemail list", len(new))
        # Stored now or by an earlier import whose removal did not happen: the copy is the message.
        for rec_id, item in by_id.items():
            sha256 = stored.get(rec_id)
            if sha256 and not await asyncio.to_thread(release, item.message.recording, item.message.msg_id, sha256):
                log.warning("fallback message %s kept in the mailbox: its file is not the one copied", item.message.msg_id)

    async def _stored(self, ids: list[str]) -> dict[str, str | None]:
        """Recording id -> checksum of the stored copy, for the messages that have a row."""
        found: dict[str, str | None] = {}
        async with self.db.session() as s:
            for start in range(0, len(ids), CHUNK):
                rows = await s.execute(select(Recording.id, Recording.sha256)
                                       .where(Recording.id.in_(ids[start:start + CHUNK])))
                found.update({rec_id: sha256 for rec_id, sha256 in rows})
        return found

    async def _row(self, rec_id: str, item: ImportedMessage) -> Recording:
        m = item.message
        name = recording_name(m.msg_id)
        target = self.directory / f"{name}.{FORMAT}"
        row = Recording(id=rec_id, call_id=item.call_id, name=name, bridge_id="", agent=None, queue=None,
                        path=str(target), format=FORMAT, status=DONE, started_at=m.left_at,
                        ended_at=m.left_at + timedelta(seconds=m.seconds), missing=False, kind=VOICEMAIL,
                        mailbox=item.mailbox)
        source = m.recording.with_suffix(f".{FORMAT}")
        try:
            facts, dbfs = await asyncio.to_thread(_copy_and_measure, source, target)
        except FileNotFoundError:
            # Listed all the same (missing): the caller left something and expects a call back.
            row.missing, row.error = True, "message file not found in the fallback mailbox"
            log.error("call %s: fallback message %s has no audio file", item.call_id, m.msg_id)
        except (OSError, audio.AudioFileError) as exc:
            row.missing, row.error = True, str(exc)[:256]
            log.error("call %s: fallback message %s not copied or measured: %s", item.call_id, m.msg_id, exc)
        else:
            row.duration, row.size, row.sha256 = facts.duration, facts.size, facts.sha256
            row.quality = quality_of(facts.duration, dbfs)
        return row
