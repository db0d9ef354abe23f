"""Messages left through the dialplan's fallback, brought into the store.

When the daemon's Stasis app is not connected, the shipped dialplan apologizes and lets the caller
leave a message (native voicemail, mailbox ``<hotline>@callcore``); a call the daemon hands back
at shutdown takes the same path. The first kind never reached the daemon: without this it would be
a recording in Asterisk's spool and no call in the store. On every ARI (re)connect the daemon reads
the mailbox's message files and, for each one it has not recorded yet:

- a call it handed off (same caller, arrived before the message, a ``handed_off`` event) gets the
  ``voicemail_left`` event;
- otherwise a call is written from the message alone (``arrived``, ``answered``, ``voicemail_left``,
  ``ended``), its id derived from the message's id so that it is written once.

Every message read, new or written by an earlier import, is then handed to the listeners added
with ``add_listener`` (the recordings capability copies it into the voicemail list), in one batch
per import, after the journal has written the calls. A message whose listeners all succeeded is not
handed again until the daemon restarts; one a listener failed on is handed again at the next import,
so a listener must be idempotent (the recordings keep one row per message id). The message files
stay where Asterisk keeps them until a listener takes them over: the recordings capability copies
each one into the voicemail list, then removes it from the mailbox.
"""

from __future__ import annotations

import asyncio
import configparser
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.calls.models import Call, CallEvent
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

# Call ids of calls written from a message: uuid5 of the message id in this namespace.
NAMESPACE = uuid.UUID("5f0c8a52-3d0e-4d0c-9a51-96881ca11b0c")
# Asterisk keeps new messages in INBOX and moves them to Old once listened to.
FOLDERS = ("INBOX", "Old")
# How long before its message a handed-off call may have arrived (the dialplan's call limit).
HANDOFF_WINDOW = timedelta(hours=2)
_CALLERID = re.compile(r'^\s*(?:"(?P<name>[^"]*)"\s*)?<(?P<num>[^>]*)>\s*$')


@dataclass(frozen=True, slots=True)
class FallbackMessage:
    msg_id: str
    caller_number: str
    caller_name: str
    channel: str
    left_at: datetime
    seconds: int
    recording: Path  # without extension, as Asterisk names it

    @property
    def call_id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, self.msg_id))


@dataclass(frozen=True, slots=True)
class ImportedMessage:
    """A fallback message and the call it is in the store: its own, or the one handed off before it."""

    message: FallbackMessage
    call_id: str
    mailbox: str  # ``<hotline>@callcore``


FallbackListener = Callable[[Sequence[ImportedMessage]], Awaitable[None]]


def read_message(meta: Path) -> FallbackMessage:
    """One ``msgNNNN.txt``; raises ``ValueError`` with the reason for a file that is not one."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(meta.read_text(encoding="utf-8", errors="replace"))
        section = parser["message"]
        left_at = datetime.fromtimestamp(int(section["origtime"]), tz=timezone.utc)
        seconds = int(section.get("duration", "0") or 0)
    except (configparser.Error, KeyError, ValueError, OSError) as exc:
        raise ValueError(f"{meta}: not a voicemail message file ({type(exc).__name__}: {exc})") from None
    callerid = section.get("callerid", "")
    match = _CALLERID.match(callerid)
    number, name = (match["num"], match["name"] or "") if match else (callerid.strip(), "")
    return FallbackMessage(
        msg_id=section.get("msg_id") or f"{meta.parent.parent.name}-{meta.stem}-{section['origtime']}",
        caller_number=number, caller_name=name if name != number else "", channel=section.get("callerchan", ""),
        left_at=left_at, seconds=seconds, recording=meta.with_suffix(""),
    )


def scan(mailbox_dir: Path) -> list[FallbackMessage]:
    """Every readable message of the mailbox, oldest first; unreadable files are logged and skipped."""
    found = []
    for folder in FOLDERS:
        for meta in sorted((mailbox_dir / folder).glob("msg*.txt")):
            try:
                found.append(read_message(meta))
            except ValueError as exc:
                log.warning("fallback voicemail skipped: %s", exc)
    return sorted(found, key=lambda m: m.left_at)


class FallbackImporter:
    """Runs on every ARI (re)connect; remembers what it wrote so a quick reconnect writes nothing twice."""

    def __init__(self, db: Database, journal: CallJournal, mailbox_dir: Path, *, hotline: str) -> None:
        self.db = db
        self.journal = journal
        self.mailbox_dir = mailbox_dir
        self.hotline = hotline
        self.mailbox = f"{hotline}@callcore"
        self._done: set[str] = set()
        self._listeners: list[FallbackListener] = []
        # Two quick reconnects start two imports: one at a time, the second finds the first's work.
        self._lock = asyncio.Lock()

    def add_listener(self, fn: FallbackListener) -> None:
        """``fn`` gets each import's messages (new and earlier ones) with their calls; see the module."""
        self._listeners.append(fn)

    async def run(self) -> int:
        """Records the messages not recorded yet; returns how many. The store down: nothing now, next time."""
        async with self._lock:
            return await self._run()

    async def _run(self) -> int:
        messages = [m for m in await asyncio.to_thread(scan, self.mailbox_dir) if m.msg_id not in self._done]
        if not messages:
            return 0
        await self.journal.wait_idle()
        try:
            recorded = await self._recorded(messages)
            handed_off = await self._handed_off(m for m in messages if m.msg_id not in recorded)
        except OUTAGE_ERRORS as exc:
            log.warning("fallback voicemails not imported now (store unavailable: %s)", type(exc).__name__)
            return 0
        n = 0
        imported: list[ImportedMessage] = []
        for m in messages:
            if m.msg_id in recorded:
                imported.append(ImportedMessage(message=m, call_id=recorded[m.msg_id], mailbox=self.mailbox))
                continue
            left = {"mailbox": self.mailbox, "msg_id": m.msg_id, "seconds": m.seconds,
                    "recording": str(m.recording), "via": "fallback"}
            call_id = handed_off.get(m.msg_id)
            if call_id is not None:
                self.journal.emit(call_id, ev.VOICEMAIL_LEFT, left, at=m.left_at)
            else:
                call_id = m.call_id
                self.journal.emit(call_id, ev.ARRIVED, {
                    "channel_id": m.channel, "caller_number": m.caller_number, "caller_name": m.caller_name,
                    "dialed": self.hotline, "direction": "inbound", "via": "fallback",
                }, at=m.left_at)
                self.journal.emit(call_id, ev.ANSWERED, {"by": "dialplan"}, at=m.left_at)
                self.journal.emit(call_id, ev.VOICEMAIL_LEFT, left, at=m.left_at)
                self.journal.emit(call_id, ev.ENDED, {"by": "caller", "cause": None, "cause_text": "message left"},
                                  at=m.left_at + timedelta(seconds=m.seconds))
            imported.append(ImportedMessage(message=m, call_id=call_id, mailbox=self.mailbox))
            n += 1
        if n:
            log.info("imported %d voicemail(s) left through the fallback while the daemon was away", n)
            # Listeners may look the calls up: they are written first.
            await self.journal.wait_idle()
        if await self._tell(imported):
            self._done.update(m.msg_id for m in messages)
        return n

    async def _tell(self, imported: list[ImportedMessage]) -> bool:
        """Hands the batch to every listener; False when one failed (the batch is handed again next time)."""
        ok = True
        for fn in self._listeners:
            try:
                await fn(imported)
            except OUTAGE_ERRORS as exc:
                log.warning("fallback voicemails not all handed on now (store unavailable: %s); next import",
                            type(exc).__name__)
                ok = False
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the import or the other listeners
                log.exception("fallback voicemail listener %s failed; its messages are handed again next import",
                              getattr(fn, "__qualname__", repr(fn)))
                ok = False
        return ok

    async def _recorded(self, messages: list[FallbackMessage]) -> dict[str, str]:
        """Message id -> call, for the messages already in the store: as a call of their own, or as a
        ``voicemail_left`` event of the call handed off before it."""
        by_call = {m.call_id: m.msg_id for m in messages}
        wanted = {m.msg_id for m in messages}
        earliest = min(m.left_at for m in messages) - HANDOFF_WINDOW
        async with self.db.session() as s:
            own = set((await s.scalars(select(Call.id).where(Call.id.in_(by_call)))).all())
            left = (await s.execute(
                select(CallEvent.call_id, CallEvent.data)
                .where(CallEvent.type == ev.VOICEMAIL_LEFT, CallEvent.at >= earliest)
            )).all()
        found = {by_call[c]: c for c in own}
        for call_id, data in left:
            msg_id = str(data.get("msg_id") or "")
            if msg_id in wanted and msg_id not in found:
                found[msg_id] = call_id
        return found

    async def _handed_off(self, messages: Iterable[FallbackMessage]) -> dict[str, str]:
        """Message id -> the call the daemon handed to the dialplan that left it (same caller, arrived before)."""
        out: dict[str, str] = {}
        taken: set[str] = set()
        async with self.db.session() as s:
            for m in messages:
                if not m.caller_number:
                    continue
                rows = (await s.execute(
                    select(Call.id).join(CallEvent, CallEvent.call_id == Call.id)
                    .where(Call.caller_number == m.caller_number, CallEvent.type == ev.HANDED_OFF,
                           Call.arrived_at <= m.left_at, Call.arrived_at >= m.left_at - HANDOFF_WINDOW)
                    .order_by(Call.arrived_at.desc())
                )).scalars().all()
                call_id = next((c for c in rows if c not in taken), None)
                if call_id is not None:
                    out[m.msg_id] = call_id
                    taken.add(call_id)
        return out
