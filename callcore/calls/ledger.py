"""Asterisk's own record of every hotline call (CDR), and the store reconciled against it (issue 12).

The daemon writes each call from what it hears: ARI for calls in the Stasis app, AMI for calls that
end before it (the door), the fallback mailbox for messages left while it was away. A call that
arrives and ends while the daemon is dead, or while its AMI session is down, is heard by none of
them and would be missing from the store, from the figures (C-2) and from the missed-call
callbacks. Asterisk writes a CDR line for every channel as it ends (``asterisk-conf/cdr.conf.j2``,
``cdr_custom.conf.j2``: one CSV line per channel, ``LEDGER_FIELDS``), whatever happened to the daemon.
This ledger reads the new lines of that file (on every ARI (re)connect, after the reconciler and
the fallback import, and every ``INTERVAL`` seconds), and writes through the journal each hotline
channel the store does not know, at Asterisk's times:

- ``arrived`` (``via``: ``cdr``), ``answered`` when Asterisk answered it, ``handed_off`` when the
  dialplan's fallback took it (the CDR's ``userfield``, set by the dialplan, says so; a message
  left there then joins this call, as for the door's calls), ``refused`` with the dialplan's reason,
  and ``ended`` (``by`` unknown: a CDR does not say who hung up).

A line is read once the channel ended ``SETTLE`` seconds ago, time enough for the door and the
journal to store what they heard; the store is asked only when the journal has nothing pending
(a spooled outage or a backlog may hold the very calls the ledger would otherwise add twice). A
channel is known to the store by its unique id (every producer's ``channel_id``) or by its name
(the fallback import's, from the mailbox's ``callerchan``). What was read is remembered as a byte
offset in ``<run>/cdr-ledger.offset`` with the file's inode, so a restart goes on where the last run
stopped, and a file rotated or truncated by an admin is read again from its start.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

from sqlalchemy import or_, select

from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.calls.models import Call
from callcore.store.base import utcnow
from callcore.store.db import Database

log = logging.getLogger(__name__)

# The columns of cdr_custom.conf.j2's mapping, in order.
LEDGER_FIELDS: Final = ("uniqueid", "channel", "dcontext", "src", "dst", "start", "answer", "end", "disposition",
                        "userfield")
SETTLE: Final = 10.0
INTERVAL: Final = 30.0
VIA: Final = "cdr"
# Channels written lately, so a second CDR line of one channel (Asterisk forks a record when a
# channel's party changes) read before the journal stored the first adds nothing.
_RECENT: Final = 10_000


@dataclass(frozen=True, slots=True)
class CdrLine:
    channel_id: str
    channel: str
    context: str
    caller_number: str
    dialed: str
    start: datetime
    answer: datetime | None
    end: datetime
    disposition: str
    userfield: str


def _time(raw: str) -> datetime | None:
    """A CDR time in Unix seconds; Asterisk writes 0 (or nothing) for a time that never came."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return datetime.fromtimestamp(value, timezone.utc) if value > 0 else None


def parse(line: str) -> CdrLine | None:
    """One line of the ledger file; None for a line that is not one (torn, or another format)."""
    try:
        [row] = list(csv.reader([line]))
    except (csv.Error, ValueError):
        return None
    if len(row) != len(LEDGER_FIELDS):
        return None
    f = dict(zip(LEDGER_FIELDS, row))
    start, end = _time(f["start"]), _time(f["end"])
    if not f["uniqueid"] or start is None or end is None:
        return None
    return CdrLine(channel_id=f["uniqueid"], channel=f["channel"], context=f["dcontext"], caller_number=f["src"],
                   dialed=f["dst"], start=start, answer=_time(f["answer"]), end=max(end, start),
                   disposition=f["disposition"], userfield=f["userfield"])


@dataclass(frozen=True, slots=True)
class _Read:
    inode: int
    start: int                        # where reading began (0 again for a new or shorter file)
    lines: list[tuple[int, CdrLine]]  # (offset where the line begins, line)
    end: int                          # offset after the last whole line
    skipped: int


class CdrLedger:
    def __init__(self, *, path: Path, offset_file: Path, db: Database, journal: CallJournal, context: str,
                 settle: float = SETTLE) -> None:
        self.path = path
        self.offset_file = offset_file
        self.db = db
        self.journal = journal
        self.context = context
        self.settle = settle
        self.written = 0
        self._recent: deque[str] = deque(maxlen=_RECENT)
        self._lock = asyncio.Lock()

    async def run_once(self) -> int:
        """Stores the hotline calls the ledger's new lines show and the store lacks; how many."""
        async with self._lock:  # the periodic job and a reconnect never read the same lines twice
            if self.journal.spooled or self.journal.backlog:
                return 0  # what the journal still holds may be these very calls: next time
            return await self._run()

    async def _run(self) -> int:
        inode_read, offset_read = await asyncio.to_thread(self._position)
        read = await asyncio.to_thread(self._read, inode_read, offset_read)
        if read.skipped:
            log.warning("ledger %s: %d lines not understood, skipped", self.path, read.skipped)
        settled_before = utcnow() - timedelta(seconds=self.settle)
        ready: list[CdrLine] = []
        offset = read.end
        for begin, line in read.lines:
            if line.end > settled_before:
                # Lines come in the order channels end: from the first unsettled one on, next time.
                offset = begin
                break
            ready.append(line)
        ours = [line for line in ready if line.context == self.context and line.channel_id not in self._recent]
        n = await self._write_missing(ours)
        if read.inode and (offset, read.inode) != (read.start, inode_read):
            await asyncio.to_thread(self._save, read.inode, offset)
        return n

    async def _write_missing(self, lines: Sequence[CdrLine]) -> int:
        merged: dict[str, CdrLine] = {}
        for line in lines:
            merged[line.channel_id] = _merge(merged.get(line.channel_id), line)
        if not merged:
            return 0
        ids = list(merged)
        names = [m.channel for m in merged.values() if m.channel]
        async with self.db.session() as s:
            found = (await s.execute(select(Call.channel_id).where(
                or_(Call.channel_id.in_(ids), Call.channel_id.in_(names))))).scalars().all()
        known = set(found)
        n = 0
        for line in merged.values():
            if line.channel_id in known or line.channel in known:
                continue
            self._write(line)
            self._recent.append(line.channel_id)
            n += 1
        if n:
            self.written += n
            log.warning("ledger: %d call(s) Asterisk handled were missing from the store; written from its CDR", n)
        return n

    def _write(self, line: CdrLine) -> None:
        call_id = self.journal.new_call_id(line.channel_id)
        self.journal.emit(call_id, ev.ARRIVED, {
            "channel_id": line.channel_id, "caller_number": line.caller_number, "caller_name": "",
            "dialed": line.dialed, "direction": "inbound", "via": VIA,
        }, at=line.start)
        steps: list[tuple[datetime, str, dict[str, Any]]] = []
        if line.answer is not None:
            steps.append((line.answer, ev.ANSWERED, {"by": "dialplan"}))
        if line.userfield == "fallback":
            steps.append((line.answer or line.start, ev.HANDED_OFF, {
                "context": self.context, "extension": line.dialed, "label": "fallback",
                "why": "the Stasis app was not connected"}))
        elif line.userfield.startswith("refused:"):
            steps.append((line.start, ev.REFUSED, {"reason": line.userfield.removeprefix("refused:")}))
        for at, type_, data in sorted(steps, key=lambda step: step[0]):
            self.journal.emit(call_id, type_, data, at=max(at, line.start))
        self.journal.emit(call_id, ev.ENDED, {
            "by": "unknown", "cause": None, "cause_text": f"from Asterisk's call record ({line.disposition})",
        }, at=line.end)

    # -- the file (in a thread) -------------------------------------------------------------
    def _position(self) -> tuple[int, int]:
        """(inode, offset) of what was read last; (0, 0) before the first read."""
        try:
            inode, offset = self.offset_file.read_text().split()
            return int(inode), int(offset)
        except (FileNotFoundError, ValueError):
            return 0, 0

    def _save(self, inode: int, offset: int) -> None:
        tmp = self.offset_file.with_name(self.offset_file.name + ".tmp")
        tmp.write_text(f"{inode} {offset}\n")
        tmp.replace(self.offset_file)

    def _read(self, inode: int, start: int) -> _Read:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return _Read(inode=0, start=0, lines=[], end=0, skipped=0)
        if st.st_ino != inode or start > st.st_size:
            if inode:
                log.warning("ledger %s was rotated or truncated: read from its start", self.path)
            start = 0
        with open(self.path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
        lines: list[tuple[int, CdrLine]] = []
        skipped = 0
        pos = start
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break  # being written: next time
            begin, pos = pos, pos + len(raw)
            parsed = parse(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if parsed is None:
                skipped += 1
            else:
                lines.append((begin, parsed))
        return _Read(inode=st.st_ino, start=start, lines=lines, end=pos, skipped=skipped)


def _merge(a: CdrLine | None, b: CdrLine) -> CdrLine:
    """One channel's CDR lines as one: its first start, first answer, last end, the dialplan's word."""
    if a is None:
        return b
    answers = [t for t in (a.answer, b.answer) if t is not None]
    return CdrLine(channel_id=a.channel_id, channel=a.channel or b.channel, context=a.context,
                   caller_number=a.caller_number or b.caller_number, dialed=a.dialed or b.dialed,
                   start=min(a.start, b.start), answer=min(answers) if answers else None, end=max(a.end, b.end),
                   disposition=b.disposition if b.answer else a.disposition, userfield=a.userfield or b.userfield)
