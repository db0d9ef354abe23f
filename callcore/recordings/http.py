"""Recordings (T-9): listed with their calls, played in the browser (HTTP ranges, so seeking works),
downloaded as WAV or MP3, deleted by an admin after the retention period. Every play, download and
delete is in the audit log (A-2).

Voicemail (T-10): the messages callers left, listed for agents, supervisors and admins and marked
handled; they are recordings, played and downloaded through the same audio routes with the same
audit. A message is listed as unhandled until an agent marks it; the callback task each message
creates comes with the callbacks capability."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcore.api.router import ApiRequest, Reply, Router
from callcore.api.validation import InputModel, Instant
from callcore.core.identity import ADMINS
from callcore.core.privacy import mask_phone
from callcore.recordings.services import (
    DOWNLOAD, LISTENERS, PLAY, VOICEMAIL_READERS, Listed, RecordingFilter, RecordingService, VoicemailFilter,
)

router = Router("/api/v1")
ID = r"^[A-Za-z0-9-]{1,36}$"
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


class RecordingQuery(InputModel):
    call_id: str | None = Field(default=None, max_length=36, pattern=ID)
    ticket_id: str | None = Field(default=None, max_length=36, pattern=ID,
                                  description="recordings of the calls linked to this ticket")
    since: Instant | None = Field(default=None, alias="from", description="started at or after")
    until: Instant | None = Field(default=None, alias="to", description="started before")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class AudioQuery(InputModel):
    download: bool = Field(default=False, description="as an attachment (audited as a download, else as a play)")


class RecordingOut(BaseModel):
    id: str
    call_id: str
    kind: str = Field(description="call (a conversation) or voicemail (a message a caller left)")
    agent: str | None
    queue: str | None
    format: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration: float | None = Field(description="seconds of audio, measured from the file")
    size: int | None
    sha256: str | None
    missing: bool = Field(description="the file is not there: reported, never left out of lists")
    error: str | None
    backed_up_at: datetime | None
    deleted_at: datetime | None

    @classmethod
    def of(cls, found: Listed) -> RecordingOut:
        r = found.row
        return cls(id=r.id, call_id=r.call_id, kind=r.kind, agent=r.agent, queue=r.queue, format=r.format, status=r.status,
                   started_at=r.started_at, ended_at=r.ended_at, duration=r.duration, size=r.size, sha256=r.sha256,
                   missing=found.missing, error=r.error, backed_up_at=r.backed_up_at, deleted_at=r.deleted_at)


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    total: int
    limit: int
    offset: int


class RecordingList(BaseModel):
    items: list[RecordingOut]


class VoicemailQuery(InputModel):
    handled: bool | None = Field(default=None, description="true: handled only; false: unhandled only")
    mailbox: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class VoicemailOut(BaseModel):
    id: str
    call_id: str
    caller_number: str = Field(description="who left it, masked (A-2); the call's detail has it whole for staff")
    mailbox: str | None
    queue: str | None = Field(description="the queue whose maximum wait sent the caller here, if one did")
    status: str
    left_at: datetime
    ended_at: datetime | None
    duration: float | None = Field(description="seconds of audio, measured from the file")
    size: int | None
    quality: str | None = Field(description="too_short or silent: kept, but probably no message")
    missing: bool
    error: str | None
    handled_at: datetime | None
    handled_by: str | None
    audio: str = Field(description="where to play it (WAV; ``.mp3`` beside it), like any recording")

    @classmethod
    def of(cls, found: Listed) -> VoicemailOut:
        r = found.row
        return cls(id=r.id, call_id=r.call_id, caller_number=mask_phone(found.caller_number), mailbox=r.mailbox,
                   queue=r.queue, status=r.status,
                   left_at=r.started_at, ended_at=r.ended_at, duration=r.duration, size=r.size, quality=r.quality,
                   missing=found.missing, error=r.error, handled_at=r.handled_at, handled_by=r.handled_by,
                   audio=f"{router.prefix}/recordings/{r.id}/audio")


class VoicemailPage(BaseModel):
    items: list[VoicemailOut]
    total: int
    limit: int
    offset: int


def _service(req: ApiRequest[Any, Any]) -> RecordingService:
    return req.ctx.get(RecordingService)


@router.get("/recordings", summary="List recordings", tags=("recordings",), query=RecordingQuery,
            response=RecordingPage, roles=LISTENERS)
async def list_recordings(req: ApiRequest[Any, RecordingQuery]) -> RecordingPage:
    q = req.query
    rows, total = await _service(req).page(req.user, RecordingFilter(
        call_id=q.call_id, ticket_id=q.ticket_id, since=q.since, until=q.until, limit=q.limit, offset=q.offset))
    return RecordingPage(items=[RecordingOut.of(r) for r in rows], total=total, limit=q.limit, offset=q.offset)


@router.get("/recordings/{id}", summary="Get a recording", tags=("recordings",), response=RecordingOut,
            roles=LISTENERS, responses={404: "no such recording"})
async def get_recording(req: ApiRequest[Any, Any]) -> RecordingOut:
    return RecordingOut.of(await _service(req).get(req.user, req.path["id"]))


@router.get("/calls/{call_id}/recordings", summary="List a call's recordings", tags=("recordings",),
            response=RecordingList, roles=LISTENERS)
async def call_recordings(req: ApiRequest[Any, Any]) -> RecordingList:
    return RecordingList(items=[RecordingOut.of(r) for r in await _service(req).for_call(req.user, req.path["call_id"])])


async def _audio(req: ApiRequest[Any, AudioQuery], fmt: str) -> web.FileResponse:
    # A player seeking asks for later ranges of the same play: only the first request is audited.
    try:
        first = req.raw.http_range.start in (None, 0)
    except ValueError:
        first = True  # a malformed Range: FileResponse answers 416, the attempt is still audited
    action = (DOWNLOAD if req.query.download else PLAY) if first else None
    row, path = await _service(req).audio_file(req.user, req.path["id"], fmt=fmt, action=action)
    headers = {"Content-Type": MEDIA_TYPES[fmt], "Cache-Control": "private, no-store"}
    if req.query.download:
        headers["Content-Disposition"] = f'attachment; filename="recording-{row.call_id}.{fmt}"'
    # FileResponse answers Range requests with 206 and Content-Range, and reads the file off the loop.
    return web.FileResponse(path, headers=headers)


AUDIO_ERRORS: dict[int, str | Reply] = {404: "no such recording, or its file is missing", 409: "still being recorded",
                                        410: "deleted"}


def range_replies(media_type: str) -> dict[int, str | Reply]:
    """FileResponse's answers to a ``Range`` header (a player buffering and seeking)."""
    return {206: Reply(description="the range asked for (Range: bytes=...), with Content-Range",
                       content_type=media_type),
            416: Reply(description="the range lies outside the file (no body)")}


@router.get("/recordings/{id}/audio", summary="Play or download a recording as WAV (audited)",
            tags=("recordings",), query=AudioQuery, roles=LISTENERS, content_type="audio/wav",
            responses={**range_replies("audio/wav"), **AUDIO_ERRORS})
async def recording_wav(req: ApiRequest[Any, AudioQuery]) -> web.FileResponse:
    return await _audio(req, "wav")


@router.get("/recordings/{id}/audio.mp3", summary="Play or download a recording as MP3 (audited)",
            tags=("recordings",), query=AudioQuery, roles=LISTENERS, content_type="audio/mpeg",
            responses={**range_replies("audio/mpeg"), **AUDIO_ERRORS})
async def recording_mp3(req: ApiRequest[Any, AudioQuery]) -> web.FileResponse:
    return await _audio(req, "mp3")


@router.delete("/recordings/{id}", summary="Delete a recording past the retention period (audited)",
               tags=("recordings",), status=204, roles=ADMINS,
               responses={404: "no such recording", 409: "the retention period is not over", 410: "deleted already"})
async def delete_recording(req: ApiRequest[Any, Any]) -> None:
    await _service(req).delete(req.user, req.path["id"])


@router.get("/voicemails", summary="List the messages callers left", tags=("voicemail",), query=VoicemailQuery,
            response=VoicemailPage, roles=VOICEMAIL_READERS)
async def list_voicemails(req: ApiRequest[Any, VoicemailQuery]) -> VoicemailPage:
    q = req.query
    rows, total = await _service(req).voicemails(req.user, VoicemailFilter(
        handled=q.handled, mailbox=q.mailbox, limit=q.limit, offset=q.offset))
    return VoicemailPage(items=[VoicemailOut.of(r) for r in rows], total=total, limit=q.limit, offset=q.offset)


@router.post("/voicemails/{id}/handled", summary="Mark a message handled (audited)", tags=("voicemail",),
             response=VoicemailOut, roles=VOICEMAIL_READERS, responses={404: "no such message"})
async def mark_voicemail_handled(req: ApiRequest[Any, Any]) -> VoicemailOut:
    return VoicemailOut.of(await _service(req).mark_handled(req.user, req.path["id"]))
