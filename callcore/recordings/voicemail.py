"""Taking a message (T-10): the caller hears a prompt and a beep, speaks, and is recorded on their
channel over ARI until they key #, fall silent, reach the maximum length or hang up; then they are
thanked and the call ends.

``Voicemail.take`` is what the queues run for a menu's ``voicemail`` node and for a queue whose
``on_max_wait`` is ``voicemail``. Each message is a row of the recordings store (kind voicemail:
played and downloaded through the recordings' audio routes, with the same audit), measured off the
event loop; a message under ``MIN_SECONDS`` or without speech is marked ``too_short``/``silent`` and
kept. A message with audio in it is the call's ``voicemail_left`` event (the call's outcome is then
``left_by_choice``, unless the queue let the caller go at its maximum wait: ``queue_timeout``).
A caller who hangs up while speaking leaves a message all the same.

Every message stored (the daemon's, and those the dialplan's fallback took, ``recordings/fallback.py``)
is told to the listeners added with ``Voicemail.add_listener`` as a ``VoicemailLeft``, once, after its
row is written: the callbacks capability makes each one a callback task. A listener that fails is
logged; the message is stored and listed all the same.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from callcore.ari.errors import AriError
from callcore.calls import events as ev
from callcore.calls.session import CallSession
from callcore.config import RecordingSettings
from callcore.prompts.synth import PromptError, ensure_prompt
from callcore.recordings import audio
from callcore.recordings.recorder import wait_closed
from callcore.recordings.models import DONE, FAILED, SILENT, TOO_SHORT, VOICEMAIL, Recording
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

FORMAT = "wav"
BEEP = "sound:beep"
THANKS_TEXT = "留言已收到，我们会尽快回电。感谢您的来电，再见。"
FAILED_TEXT = "抱歉，留言暂时无法保存，请稍后再拨。感谢您的来电，再见。"
# A message shorter than this is marked too short (a caller who hung up at the beep).
MIN_SECONDS = 1.5
# Average loudness under which a message holds no speech (a quiet line is about -60 dBFS; speech -30..-15).
SILENT_DBFS = -50.0
# Seconds to wait for Asterisk to close the file of a recording the caller's hang-up ended.
CLOSE_TIMEOUT = 5.0
POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class VoicemailLeft:
    """A message a caller left, stored as the recording ``recording_id`` of call ``call_id``.

    ``caller_number`` is the whole number (to call back): mask it on every output path
    (``callcore.core.privacy``). ``queue`` is the queue whose maximum wait sent the caller here, if
    one did; ``at`` when the message began (UTC); ``quality`` ``too_short`` or ``silent`` for a
    message kept but probably empty (the listener decides what that is worth), else None."""

    call_id: str
    caller_number: str
    mailbox: str
    queue: str | None
    recording_id: str
    at: datetime
    quality: str | None = None


VoicemailListener = Callable[[VoicemailLeft], Awaitable[None]]


def quality_of(duration: float, dbfs: float) -> str | None:
    """The mark of a message: too short, silent, or None (a message)."""
    if duration < MIN_SECONDS:
        return TOO_SHORT
    if math.isinf(dbfs) or dbfs < SILENT_DBFS:
        return SILENT
    return None


def measure_message(path: Path) -> tuple[audio.FileFacts, float]:
    """Size, checksum, duration and average loudness of a message's file (blocking: run in a thread)."""
    facts = audio.measure(path)
    return facts, audio.loudness_of(path) if facts.size else -math.inf


class Voicemail:
    def __init__(self, *, db: Database, directory: Path, sounds_dir: Path,
                 settings: RecordingSettings, close_timeout: float = CLOSE_TIMEOUT) -> None:
        """``directory`` is Asterisk's recording directory (shared with it, as for the ``Recorder``)."""
        self.db = db
        self.directory = directory
        self.sounds_dir = sounds_dir
        self.settings = settings
        self.close_timeout = close_timeout
        self._listeners: list[VoicemailListener] = []

    def add_listener(self, fn: VoicemailListener) -> None:
        """``fn`` is awaited with each message left from now on, after its row is written (in the
        order added). It runs in the caller's call flow or the fallback import: keep it short."""
        self._listeners.append(fn)

    async def notify(self, left: VoicemailLeft) -> None:
        """Tells every listener that ``left`` was stored; one that raises is logged and the next
        still runs: the message is already kept and listed, whatever a listener does with it."""
        for fn in self._listeners:
            try:
                await fn(left)
            except Exception:  # noqa: BLE001 - a listener's bug must not lose the message or the others
                log.exception("call %s: voicemail listener %s failed for message %s",
                              left.call_id, getattr(fn, "__qualname__", repr(fn)), left.recording_id)

    async def take(self, session: CallSession, *, mailbox: str, prompt: str | None = None,
                   queue: str | None = None) -> str | None:
        """Takes a message into ``mailbox`` and ends the call; returns the stored row's id (None when
        nothing could be recorded). ``prompt`` is spoken first (a menu's voicemail node has spoken its
        own already). ``CallerHungUp`` propagates when the caller leaves before the recording begins."""
        if prompt:
            await self._say(session, prompt, "voicemail_prompt", last=False)
        await session.play([BEEP], name="voicemail_beep")
        rec_id = str(uuid.uuid4())
        name = f"voicemail-{session.call_id}-{rec_id[:8]}"
        started_at = utcnow()
        path = self.directory / f"{name}.{FORMAT}"
        row = Recording(id=rec_id, call_id=session.call_id, name=name, bridge_id="", agent=None, queue=queue,
                        path=str(path), format=FORMAT, status=DONE, started_at=started_at, missing=False,
                        kind=VOICEMAIL, mailbox=mailbox)
        try:
            result = await session.record(name, fmt=FORMAT, max_duration=self.settings.voicemail_max_seconds,
                                          max_silence=self.settings.voicemail_max_silence, terminate_on="#",
                                          beep=False)
        except AriError as exc:
            log.error("call %s: message not recorded, Asterisk refused: %s", session.call_id, exc)
            row.status, row.missing, row.error, row.ended_at = FAILED, True, str(exc)[:256], utcnow()
            await self._store(row)
            await self._say(session, FAILED_TEXT, "voicemail_failed", last=True)
            await session.hangup("voicemail_failed")
            return None
        ended_at = utcnow()
        if result.ended_by == "hangup":
            await wait_closed(path, timeout=self.close_timeout, poll=POLL_SECONDS)
        try:
            if result.ended_by != "hangup" and not session.gone:
                if result.ended_by == "failed":
                    log.error("call %s: message recording failed in Asterisk: %s", session.call_id, result.cause)
                    await self._say(session, FAILED_TEXT, "voicemail_failed", last=True)
                else:
                    await self._say(session, THANKS_TEXT, "voicemail_thanks", last=True)
                await session.hangup("normal")
        finally:
            # Stored whatever happens to the caller after the recording: the message is theirs.
            await self._keep(session, row, ended_at, failed=result.cause if result.ended_by == "failed" else None)
        return rec_id

    async def _keep(self, session: CallSession, row: Recording, ended_at: datetime, *, failed: str | None) -> None:
        row.ended_at = ended_at
        path = Path(row.path)
        try:
            facts, dbfs = await asyncio.to_thread(measure_message, path)
        except FileNotFoundError:
            row.missing, row.error = True, (f"recording failed: {failed}" if failed is not None else "file not found")[:256]
            log.error("call %s: message %s has no file (%s)", session.call_id, row.id, row.error)
        except (OSError, audio.AudioFileError) as exc:
            row.missing, row.error = True, str(exc)[:256]
            log.error("call %s: message %s not measured: %s", session.call_id, row.id, exc)
        else:
            row.duration, row.size, row.sha256 = facts.duration, facts.size, facts.sha256
            row.quality = quality_of(facts.duration, dbfs)
        if row.missing and failed is not None:
            row.status = FAILED
        await self._store(row)
        if not row.missing and row.duration:
            session.event(ev.VOICEMAIL_LEFT, mailbox=row.mailbox, recording=row.id, seconds=row.duration,
                          **({"quality": row.quality} if row.quality else {}))
        if row.status != FAILED:
            # The caller was recorded (and thanked, unless they hung up): they expect a call back,
            # even when the file went missing or the store was down when it was written.
            await self.notify(VoicemailLeft(call_id=row.call_id, caller_number=session.caller_number,
                                            mailbox=row.mailbox or "", queue=row.queue, recording_id=row.id,
                                            at=row.started_at, quality=row.quality))

    async def _say(self, session: CallSession, text: str, name: str, *, last: bool) -> None:
        try:
            path = await ensure_prompt(text, self.sounds_dir)
        except PromptError as exc:
            log.error("voicemail prompt not synthesized: %s", exc)
            return
        await session.play([f"sound:{path}"], name=name, last=last)

    async def _store(self, row: Recording) -> None:
        try:
            async with self.db.session() as s:
                await s.merge(row)
        except OUTAGE_ERRORS as exc:
            # The file stays in the recording directory; the call's timeline still says a message was left.
            log.error("message %s of call %s not stored (database unavailable: %s)", row.id, row.call_id, exc)
