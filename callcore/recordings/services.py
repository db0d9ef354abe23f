"""Recordings for people (T-9, A-1, A-2): who may hear which, lists with their calls, the audio as
WAV or MP3, deletion under the retention setting, and the audit log of every play, download and delete.

A department handler hears only recordings of calls linked to a ticket of their department (the
ticket was created from the call, or the call was attached to it); everyone else allowed to listen
(the call centre's own staff) hears all. A recording someone may not hear answers "not found", so
its existence does not leak. A recording whose file is gone is listed with ``missing``, never
dropped from a list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true

from callcore.accounts import audit
from callcore.calls.models import Call
from callcore.config import RecordingSettings
from callcore.core.errors import Conflict, DomainError, NotFound, ServiceUnavailable
from callcore.core.identity import AGENT, CENTER, FLOOR_MANAGERS, HANDLER, SYSTEM, Principal
from callcore.recordings import audio
from callcore.recordings.models import FAILED, RECORDING, VOICEMAIL, Recording
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.models import Ticket, TicketCall, TicketDepartment

# Who hears every recording: the call centre's staff and the floor managers (handlers: their own only).
HEAR_ALL = CENTER | FLOOR_MANAGERS | {SYSTEM}
LISTENERS = HEAR_ALL | {HANDLER}

PLAY, DOWNLOAD, DELETE = "recording_play", "recording_download", "recording_delete"
VOICEMAIL_HANDLED = "voicemail_handled"

# Who lists callers' messages and marks them handled (T-10): agents, supervisors, admins.
VOICEMAIL_READERS = frozenset({AGENT}) | FLOOR_MANAGERS


class RecordingGone(DomainError):
    status = 410
    error_id = "recording_deleted"


class RecordingMissing(DomainError):
    status = 404
    error_id = "recording_missing"


class RecordingInProgress(DomainError):
    status = 409
    error_id = "recording_in_progress"


class RetentionNotOver(DomainError):
    status = 409
    error_id = "retention_not_over"


@dataclass(frozen=True, kw_only=True)
class RecordingFilter:
    call_id: str | None = None
    ticket_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class VoicemailFilter:
    handled: bool | None = None
    mailbox: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class Listed:
    """A row with what was found on disk when it was read."""

    row: Recording
    missing: bool
    # The number that called (whole here; every output masks it per reader): who left a message.
    caller_number: str = ""


def linked_calls(ticket: ColumnElement[bool]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The two ways a recording's call is linked to a ticket matching ``ticket``: the ticket was created
    from the call (``tickets.call_id``), or the call was attached to it (``ticket_calls``)."""
    created = exists(select(Ticket.id).where(Ticket.call_id == Recording.call_id, ticket))
    attached = exists(select(TicketCall.ticket_id).join(Ticket, Ticket.id == TicketCall.ticket_id)
                      .where(TicketCall.call_id == Recording.call_id, ticket))
    return created, attached


def visible_clause(who: Principal) -> ColumnElement[bool]:
    """The SQL condition a principal's recording queries are restricted by (A-1)."""
    if who.role in HEAR_ALL:
        return true()
    if who.role == HANDLER and who.department_id:
        own = exists(select(TicketDepartment.ticket_id).where(TicketDepartment.ticket_id == Ticket.id,
                                                              TicketDepartment.department_id == who.department_id))
        return or_(*linked_calls(own))
    return false()


class RecordingService:
    def __init__(self, db: Database, *, settings: RecordingSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._converting: dict[str, asyncio.Lock] = {}

    # -- reading -----------------------------------------------------------------------
    async def page(self, who: Principal, f: RecordingFilter) -> tuple[list[Listed], int]:
        q = select(Recording).where(visible_clause(who))
        if f.call_id:
            q = q.where(Recording.call_id == f.call_id)
        if f.ticket_id:
            q = q.where(or_(*linked_calls(Ticket.id == f.ticket_id)))
        if f.since is not None:
            q = q.where(Recording.started_at >= f.since)
        if f.until is not None:
            q = q.where(Recording.started_at < f.until)
        async with self.db.session() as s:
            total = int(await s.scalar(select(func.count()).select_from(q.subquery())) or 0)
            rows = list(await s.scalars(q.order_by(Recording.started_at.desc(), Recording.id)
                                        .limit(f.limit).offset(f.offset)))
        return await self._listed(rows), total

    async def for_call(self, who: Principal, call_id: str) -> list[Listed]:
        async with self.db.session() as s:
            rows = list(await s.scalars(select(Recording).where(Recording.call_id == call_id, visible_clause(who))
                                        .order_by(Recording.started_at, Recording.id)))
        return await self._listed(rows)

    async def get(self, who: Principal, rec_id: str) -> Listed:
        [found] = await self._listed([await self._row(who, rec_id)])
        return found

    async def _row(self, who: Principal, rec_id: str) -> Recording:
        async with self.db.session() as s:
            row = await s.scalar(select(Recording).where(Recording.id == rec_id, visible_clause(who)))
        if row is None:
            raise NotFound(f"recording {rec_id} not found")
        return row

    async def _listed(self, rows: list[Recording]) -> list[Listed]:
        """Each row with whether its file is there now (checked off the event loop), and its caller."""
        look = [r for r in rows if r.deleted_at is None and r.status != FAILED]
        there = dict(zip((r.id for r in look), await asyncio.to_thread(audio.existing, [Path(r.path) for r in look])))
        callers: dict[str, str] = {}
        if rows:
            async with self.db.session() as s:
                found = await s.execute(select(Call.id, Call.caller_number).where(Call.id.in_({r.call_id for r in rows})))
                callers = {call_id: number for call_id, number in found.all()}
        return [Listed(row=r, missing=r.status == FAILED or (r.deleted_at is None and not there.get(r.id, False)),
                       caller_number=callers.get(r.call_id, "")) for r in rows]

    # -- voicemail (T-10) ---------------------------------------------------------------
    async def voicemails(self, who: Principal, f: VoicemailFilter) -> tuple[list[Listed], int]:
        """Messages callers left, oldest unhandled first. A message stays unhandled until an agent
        marks it (``mark_handled``); the callback task each message creates comes with the callbacks
        capability, which will read the unhandled ones from here."""
        q = select(Recording).where(Recording.kind == VOICEMAIL, visible_clause(who))
        if f.handled is not None:
            q = q.where(Recording.handled_at.is_not(None) if f.handled else Recording.handled_at.is_(None))
        if f.mailbox:
            q = q.where(Recording.mailbox == f.mailbox)
        async with self.db.session() as s:
            total = int(await s.scalar(select(func.count()).select_from(q.subquery())) or 0)
            rows = list(await s.scalars(q.order_by(Recording.started_at, Recording.id).limit(f.limit).offset(f.offset)))
        return await self._listed(rows), total

    async def mark_handled(self, who: Principal, rec_id: str) -> Listed:
        """Marks a message handled (once: marking it again changes nothing), with who did it, audited."""
        async with self.db.session() as s:
            row = await s.scalar(select(Recording).where(Recording.id == rec_id, Recording.kind == VOICEMAIL,
                                                         visible_clause(who)))
            if row is None:
                raise NotFound(f"voicemail {rec_id} not found")
            if row.handled_at is None:
                row.handled_at = self.clock()
                row.handled_by = who.user_id
                audit.record(s, who, action=VOICEMAIL_HANDLED, object_type="recording", object_id=rec_id,
                             detail={"call_id": row.call_id, "mailbox": row.mailbox})
        [found] = await self._listed([row])
        return found

    # -- the audio ---------------------------------------------------------------------
    async def audio_file(self, who: Principal, rec_id: str, *, fmt: str, action: str | None) -> tuple[Recording, Path]:
        """The file to serve as ``fmt`` (wav or mp3, converted once and kept beside the WAV); with
        ``action`` (play or download) the access is written to the audit log first."""
        row = await self._row(who, rec_id)
        if row.deleted_at is not None:
            raise RecordingGone(f"recording {rec_id} was deleted")
        if row.status == RECORDING:
            raise RecordingInProgress(f"recording {rec_id} is still being made")
        wav = Path(row.path)
        if row.status == FAILED or not (await asyncio.to_thread(audio.existing, [wav]))[0]:
            raise RecordingMissing(f"the file of recording {rec_id} is missing")
        path = wav
        if fmt == "mp3":
            lock = self._converting.setdefault(rec_id, asyncio.Lock())
            try:
                async with lock:
                    path = await asyncio.to_thread(audio.to_mp3, wav, wav.with_suffix(".mp3"))
            except audio.AudioFileError as exc:
                raise ServiceUnavailable(str(exc)) from None
            finally:
                if not lock.locked():
                    self._converting.pop(rec_id, None)
        if action is not None:
            async with self.db.session() as s:
                audit.record(s, who, action=action, object_type="recording", object_id=rec_id,
                             detail={"call_id": row.call_id, "format": fmt})
        return row, path

    # -- deleting ----------------------------------------------------------------------
    async def delete(self, who: Principal, rec_id: str) -> None:
        """Deletes the files of a recording older than the retention period; the row stays, marked
        deleted, so the call still shows it had one (and who deleted it, when)."""
        row = await self._row(who, rec_id)
        if row.deleted_at is not None:
            raise RecordingGone(f"recording {rec_id} was deleted already")
        keep_until = row.started_at + timedelta(days=self.settings.retention_days)
        now = self.clock()
        if now < keep_until:
            raise RetentionNotOver(
                f"recording {rec_id} must be kept until {keep_until.date().isoformat()} "
                f"(recordings.retention_days = {self.settings.retention_days})")
        # The row and its audit entry first: a file is never gone without the record of who removed it.
        async with self.db.session() as s:
            stored = await s.get(Recording, rec_id)
            if stored is None or stored.deleted_at is not None:
                raise Conflict(f"recording {rec_id} changed meanwhile")
            stored.deleted_at = now
            stored.deleted_by = who.user_id
            audit.record(s, who, action=DELETE, object_type="recording", object_id=rec_id,
                         detail={"call_id": row.call_id, "started_at": row.started_at.isoformat()})
        wav = Path(row.path)
        await asyncio.to_thread(audio.remove, wav, wav.with_suffix(".mp3"))


def not_backed_up() -> ColumnElement[bool]:
    """Rows the backup still has to copy."""
    return and_(Recording.backed_up_at.is_(None), Recording.deleted_at.is_(None), Recording.status != RECORDING,
                Recording.status != FAILED)
