"""Writes call events to the store as they happen, and never loses one.

Producers call ``emit`` (never blocks a call flow: the only I/O is one append to the write-ahead
log, ``wal.py``, so a daemon killed before a batch is written loses no event). One writer task
drains the queue in batches. When the database is down the batch goes to an append-only spool file (fsync'ed)
and every later event follows it there, so order is kept; the writer replays the spool with
capped backoff until the database answers again.

When a call ends, the same transaction stores its one outcome (C-2) and the figures' facts:
``outcomes.classify`` over the call's whole stored timeline, whichever producer wrote it (the
Stasis flows, the reconciler, the fallback mailbox import).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcore.core.bus import EventBus
from callcore.calls import events as ev
from callcore.calls import outcomes
from callcore.calls.models import Call, CallEvent
from callcore.calls.events import CallEventRecord
from callcore.calls.outcomes import Outcome, TimelineEvent
from callcore.calls.wal import WriteAheadLog
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database

EVENTS_TABLE = cast(Table, CallEvent.__table__)
CALLS_TABLE = cast(Table, Call.__table__)

log = logging.getLogger(__name__)

# The database answered and refused the data (a constraint, a value it cannot take): not an outage,
# so the batch is not spooled for a replay that would be refused again.
REFUSED_DATA = (IntegrityError, DataError)

BATCH = 500
# How long the writer lets a trickle of events gather before a transaction. Each transaction costs
# a fixed ~20 round trips to the database (on SQLite each one a hop to aiosqlite's thread), so
# one per event or two would cost more CPU than the calls themselves (bench/RESULTS.md, load).
LINGER = 0.05
_STAGE_OF = {
    ev.ANSWERED: "answered",
    ev.IVR_ENTERED: "ivr",
    ev.QUEUE_ENTERED: "queue",
    ev.AGENT_RINGING: "ringing",
    ev.TALK_STARTED: "talking",
    ev.REFUSED: "refused",
    ev.VOICEMAIL_LEFT: "voicemail",
}


# The columns of an ended call that its classified timeline sets (``_classified``).
_OUTCOME = ("outcome", "loss_stage", "queue", "agent", "position", "waited", "queue_entered_at", "agent_answered_at",
            "talk_ended_at", "wrap_up_seconds")
# The columns of a call row that its events change; the rest are set once, from ``arrived``.
_FOLDED = ("status", "stage", "answered_at", "ended_at", "hangup_by", "hangup_cause", "hangup_cause_text", "attributes",
           *_OUTCOME)
# executemany with one dict per changed call: ``_id`` picks the row, the other keys are the SET clause.
_UPDATE_FOLDED = update(CALLS_TABLE).where(CALLS_TABLE.c.id == bindparam("_id"))
# The timelines of the calls ``ids``, the events the classifier reads, in timeline order: ``at``, then
# ``seq``. ``seq`` alone would not do: it is one process's counter, and a call parked in Stasis
# across a restart has events of two processes.
_TIMELINES = (
    select(EVENTS_TABLE.c.call_id, EVENTS_TABLE.c.type, EVENTS_TABLE.c.at, EVENTS_TABLE.c.data)
    .where(EVENTS_TABLE.c.call_id.in_(bindparam("ids", expanding=True)),
           EVENTS_TABLE.c.type.in_(sorted(outcomes.READS)))
    .order_by(EVENTS_TABLE.c.at, EVENTS_TABLE.c.seq)
)


# Text columns of a call row and their lengths: what a caller ID or a cause text brings is cut to
# fit (PostgreSQL refuses a longer value, and with it the whole batch).
_LENGTHS = {c.name: c.type.length for c in CALLS_TABLE.c if isinstance(c.type, String) and c.type.length}


def _clipped(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v[: _LENGTHS[k]] if isinstance(v, str) and k in _LENGTHS else v for k, v in row.items()}


def new_row(call_id: str, at: datetime, **values: Any) -> dict[str, Any]:
    """A whole call row (every column: the rows of one multi-row INSERT must have the same keys)."""
    row: dict[str, Any] = dict(
        id=call_id, channel_id="", direction="inbound", caller_number="", caller_name="", dialed="", status="active",
        stage="arrived", arrived_at=at, answered_at=None, ended_at=None, hangup_by=None, hangup_cause=None,
        hangup_cause_text=None, attributes={}, **dict.fromkeys(_OUTCOME),
    )
    row.update(values)
    return row


def apply_event(call: dict[str, Any] | None, record: CallEventRecord) -> dict[str, Any] | None:
    """Fold one event into the call's row (a dict of its columns); returns a new row for ``arrived``.

    The outcome columns are not folded here: an outcome needs the whole timeline, the journal
    classifies it once the call has ended (``_classified``)."""
    d = record.data
    if record.type == ev.ARRIVED:
        if call is not None:
            return None
        return new_row(
            record.call_id, record.at,
            channel_id=str(d.get("channel_id", "")),
            direction=str(d.get("direction", "inbound")),
            caller_number=str(d.get("caller_number", "")),
            caller_name=str(d.get("caller_name", "")),
            dialed=str(d.get("dialed", "")),
        )
    if call is None:
        return None
    if record.type in _STAGE_OF and call["status"] == "active":
        call["stage"] = _STAGE_OF[record.type]
    if record.type == ev.ANSWERED and call["answered_at"] is None:
        call["answered_at"] = record.at
    elif record.type == ev.ATTRIBUTE_SET:
        call["attributes"] = {**(call["attributes"] or {}), str(d.get("name")): d.get("value")}
    elif record.type == ev.ENDED and call["status"] != "ended":
        call["status"] = "ended"
        call["ended_at"] = record.at
        call["hangup_by"] = d.get("by")
        call["hangup_cause"] = d.get("cause")
        call["hangup_cause_text"] = d.get("cause_text")
    return None


def _classified(outcome: Outcome) -> dict[str, Any]:
    """The outcome columns of a call row."""
    return {
        "outcome": outcome.kind, "loss_stage": outcome.loss_stage, "queue": outcome.queue, "agent": outcome.agent,
        "position": outcome.position, "waited": outcome.waited, "queue_entered_at": outcome.queue_entered_at,
        "agent_answered_at": outcome.answered_at, "talk_ended_at": outcome.talk_ended_at,
        "wrap_up_seconds": outcome.wrap_up_seconds,
    }


class CallJournal:
    """``short_abandon_seconds`` and ``self_service_nodes`` are the classifier's (``outcomes.classify``):
    the queue's short-abandon threshold, and the IVR nodes whose message serves the caller."""

    def __init__(self, db: Database, spool: Path, bus: EventBus | None = None, *,
                 short_abandon_seconds: float = outcomes.SHORT_ABANDON_SECONDS,
                 self_service_nodes: frozenset[str] = frozenset()) -> None:
        self.db = db
        self.spool = spool
        self.bus = bus
        self.short_abandon_seconds = short_abandon_seconds
        self.self_service_nodes = self_service_nodes
        self._queue: asyncio.Queue[CallEventRecord] = asyncio.Queue()
        self._seq = itertools.count(1)
        self._idle = asyncio.Event()
        self._idle.set()
        self._retry_delay = 0.5
        self._callers: dict[str, str] = {}
        self.written = 0
        self._wal = WriteAheadLog(Path(f"{spool}.wal"))
        if self._wal.left or self.spooled:
            self._idle.clear()  # a stopped process's events are not in the store yet

    # -- producers -------------------------------------------------------------------------
    def new_call_id(self, channel_id: str | None = None) -> str:
        """A new call's id; a citizen's channel entering the Stasis app gets the one derived from the
        channel (``events.call_id_for``), so a restart resuming it needs no look-up."""
        return ev.call_id_for(channel_id) if channel_id else str(uuid.uuid4())

    def emit(self, call_id: str, type_: str, data: dict[str, Any] | None = None, *, at: datetime | None = None) -> CallEventRecord:
        record = CallEventRecord(
            id=str(uuid.uuid4()), call_id=call_id, seq=next(self._seq), at=at or utcnow(), type=type_, data=data or {}
        )
        self._idle.clear()
        self._wal.append(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        self._queue.put_nowait(record)
        if self.bus is not None:
            if type_ == ev.ARRIVED:
                self._callers[call_id] = str(record.data.get("caller_number", ""))
            caller = self._callers.pop(call_id, "") if type_ == ev.ENDED else self._callers.get(call_id, "")
            self.bus.publish({"kind": "call_event", "caller": caller, **record.to_json()})
        return record

    # -- writer ----------------------------------------------------------------------------
    @property
    def spooled(self) -> bool:
        try:
            return self.spool.stat().st_size > 0
        except FileNotFoundError:
            return False

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def wait_idle(self) -> None:
        """Until everything emitted so far is in the database (tests, shutdown)."""
        await self._idle.wait()

    async def run(self) -> None:
        """The writer loop. Cancelling it spools whatever it held, so a shutdown loses nothing."""
        batch: list[CallEventRecord] = []
        try:
            if self.spooled:
                await self._replay()
            if self._wal.left:
                await self._recover()
            while True:
                # Before waiting, not after a batch: a replay at start-up also empties the backlog.
                if self._queue.empty() and not self.spooled:
                    self._idle.set()
                batch = await self._next_batch(timeout=self._retry_delay if self.spooled else None)
                if self.spooled:
                    if batch:
                        taken = self._rotate_if_drained()
                        await self._append_spool(batch)
                        batch = []
                        self._release(taken)
                    await self._replay()
                elif batch:
                    if len(batch) < BATCH:
                        # Cancelled here, ``batch`` is spooled with the rest (below).
                        await asyncio.sleep(LINGER)
                        self._drain_into(batch)
                    taken = self._rotate_if_drained()
                    try:
                        await self._store(batch, known_new=True)
                    except OUTAGE_ERRORS as exc:
                        log.warning("database unavailable (%s): spooling %d events", type(exc).__name__, len(batch))
                        await self._append_spool(batch)
                    except Exception:  # noqa: BLE001 - the writer must outlive any one batch
                        # Not an outage we know: the events are still kept (the spool's replay sets
                        # aside what the database keeps refusing) and the writer goes on.
                        log.exception("journal: %d events not written; spooled", len(batch))
                        await self._append_spool(batch)
                    batch = []
                    self._release(taken)
        except asyncio.CancelledError:
            # Written or not, these are kept: a replay of events already stored changes nothing.
            pending = batch + [self._queue.get_nowait() for _ in range(self._queue.qsize())]
            if pending:
                lines = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in pending)
                self._append_sync(lines)
                log.info("journal stopped: %d events kept in the spool", len(pending))
            # Everything emitted so far is stored or spooled; what is emitted after this is kept in
            # the new segment for the next start.
            self._wal.release(self._wal.rotate())
            raise

    def _rotate_if_drained(self) -> int | None:
        """With the queue emptied into the batch, every event in the log so far is in it or in an
        earlier batch: a new segment starts, and the old ones go once this batch is safe."""
        return self._wal.rotate() if self._queue.empty() else None

    def _release(self, taken: int | None) -> None:
        if taken is not None:
            self._wal.release(taken)

    async def _recover(self) -> None:
        """Events a killed process emitted and may not have stored: stored again (a repeat changes
        nothing), or spooled behind what is spooled already when the database is down."""
        records = await asyncio.to_thread(self._read, list(self._wal.left))
        log.info("journal: %d events recovered from the write-ahead log of a stopped process", len(records))
        if records:
            if self.spooled:
                await self._append_spool(records)
            else:
                try:
                    for i in range(0, len(records), BATCH):
                        await self._store(records[i : i + BATCH])
                except OUTAGE_ERRORS:
                    await self._append_spool(records)
        self._wal.release_left()

    def _read(self, paths: Sequence[Path]) -> list[CallEventRecord]:
        """Parses spooled or logged events (in a thread: a spool can hold an outage's worth); an
        unreadable line (torn by a crash) is set aside in ``<spool>.bad`` and the rest kept."""
        records = []
        for path in paths:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    records.append(CallEventRecord.from_json(json.loads(line)))
                except (ValueError, KeyError) as exc:
                    log.error("%s line %d unreadable (%s); kept in %s.bad", path, n, exc, self.spool)
                    self._keep_bad(line)
        return records

    async def _next_batch(self, timeout: float | None) -> list[CallEventRecord]:
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout) if timeout else await self._queue.get()
        except TimeoutError:
            return []
        batch = [first]
        self._drain_into(batch)
        return batch

    def _drain_into(self, batch: list[CallEventRecord]) -> None:
        while len(batch) < BATCH and not self._queue.empty():
            batch.append(self._queue.get_nowait())

    async def _store(self, batch: Sequence[CallEventRecord], *, known_new: bool = False) -> None:
        """``write``; when the database refuses the batch's data (not an outage), each event on its own.

        A refused event is kept in ``<spool>.bad`` with the reason and the others are stored: spooled
        and replayed, one bad event would otherwise hold every later call out of the store.
        """
        try:
            await self.write(batch, known_new=known_new)
            return
        except REFUSED_DATA as exc:
            log.error("database refused a batch of %d events (%s); storing them one by one", len(batch), exc.orig)
        for record in batch:
            try:
                await self.write([record])
            except REFUSED_DATA as exc:
                log.error("event %s (%s) of call %s refused by the database (%s); kept in %s.bad",
                          record.id, record.type, record.call_id, exc.orig, self.spool)
                await asyncio.to_thread(self._keep_bad, json.dumps(record.to_json(), ensure_ascii=False))

    async def write(self, batch: Sequence[CallEventRecord], *, known_new: bool = False) -> None:
        """Insert events and fold them into their call rows, in one transaction.

        Idempotent: a replay may repeat events already stored, so their ids are looked up first.
        ``known_new`` skips that look-up for a batch straight from ``emit`` (never written, since a
        batch that may have been is spooled and comes back as a replay). Core statements, not the
        ORM: its unit of work for thousands of small rows was most of the daemon's CPU per call.
        """
        fresh: list[CallEventRecord] = []
        async with self.db.engine.begin() as conn:
            seen: set[str] = set()
            if not known_new:
                seen = set((await conn.execute(select(EVENTS_TABLE.c.id).where(EVENTS_TABLE.c.id.in_([r.id for r in batch])))).scalars())
            for r in batch:
                if r.id not in seen:
                    seen.add(r.id)
                    fresh.append(r)
            if not fresh:
                return
            # The stored calls' folded columns, to fold the events into (an ``arrived`` for a call
            # already stored adds no second row).
            cols = [CALLS_TABLE.c.id, *(CALLS_TABLE.c[name] for name in _FOLDED)]
            result = await conn.execute(select(*cols).where(CALLS_TABLE.c.id.in_({r.call_id for r in fresh})))
            stored: dict[str, dict[str, Any]] = {row.id: dict(row._mapping) for row in result}
            before = {cid: dict(row) for cid, row in stored.items()}
            created: dict[str, dict[str, Any]] = {}
            kept: list[CallEventRecord] = []
            for r in fresh:
                row = created.get(r.call_id) or stored.get(r.call_id)
                if r.type == ev.ARRIVED and r.data.get("resumed") and row is not None:
                    # A restarted daemon resuming a parked channel it could not look up (the database
                    # was down) says the call arrived again: the call keeps its one arrival.
                    continue
                kept.append(r)
                if row is None and r.type != ev.ARRIVED:
                    # An event whose call row never arrived (lost producer state): keep it anyway.
                    row = created[r.call_id] = new_row(r.call_id, r.at)
                new = apply_event(row, r)
                if new is not None:
                    created[r.call_id] = new
            fresh = kept
            if not fresh:
                return
            if created:
                await conn.execute(insert(CALLS_TABLE), [_clipped(row) for row in created.values()])
                before.update((cid, dict(row)) for cid, row in created.items())
            await conn.execute(
                insert(EVENTS_TABLE),
                [dict(id=r.id, call_id=r.call_id, seq=r.seq, at=r.at, type=r.type, data=r.data) for r in fresh],
            )
            rows = {**stored, **created}
            # Ended calls whose timeline this batch changed: those that end now, and those that get
            # a late event (a message the fallback import joins to a call handed back at shutdown).
            # An ``ended`` replayed changes nothing: a stored event is not fresh.
            ended = {r.call_id for r in fresh if rows[r.call_id]["status"] == "ended"}
            if ended:
                for cid, outcome in (await self._classify(conn, ended)).items():
                    rows[cid].update(_classified(outcome))
            changed = [{"_id": cid, **_clipped({k: row[k] for k in _FOLDED})} for cid, row in rows.items() if row != before[cid]]
            if changed:
                await conn.execute(_UPDATE_FOLDED, changed)
        self.written += len(fresh)

    async def _classify(self, conn: AsyncConnection, call_ids: Collection[str]) -> dict[str, Outcome]:
        """The outcome of each ended call from its whole stored timeline: one SELECT for them all, of
        the events the classifier reads (``outcomes.READS``). A timeline the classifier cannot read
        is logged and left without an outcome: one odd call must not stop the writer."""
        result = await conn.execute(_TIMELINES, {"ids": list(call_ids)})
        timelines: dict[str, list[TimelineEvent]] = {}
        for call_id, type_, at, data in result:
            timelines.setdefault(call_id, []).append(TimelineEvent(type_, at, data or {}))
        found: dict[str, Outcome] = {}
        for call_id, timeline in timelines.items():
            try:
                found[call_id] = outcomes.classify(timeline, short_abandon_seconds=self.short_abandon_seconds,
                                                   self_service_nodes=self.self_service_nodes)
            except Exception:  # noqa: BLE001 - a bug in one call's classification must not stop the journal
                log.exception("call %s: no outcome stored (its timeline could not be classified)", call_id)
        return found

    # -- spool -----------------------------------------------------------------------------
    async def _append_spool(self, batch: Sequence[CallEventRecord]) -> None:
        lines = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in batch)
        await asyncio.to_thread(self._append_sync, lines)

    def _append_sync(self, lines: str) -> None:
        self.spool.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spool, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())

    async def _replay(self) -> None:
        records = await asyncio.to_thread(self._read, [self.spool])
        try:
            for i in range(0, len(records), BATCH):
                await self._store(records[i : i + BATCH])
        except OUTAGE_ERRORS:
            self._retry_delay = min(self._retry_delay * 2, 10.0)
            log.info("database still unavailable; %d spooled events wait (retry in %.1fs)", len(records), self._retry_delay)
            return
        await asyncio.to_thread(self._truncate)
        self._retry_delay = 0.5
        log.info("database back: replayed %d spooled events", len(records))

    def _keep_bad(self, line: str) -> None:
        with open(f"{self.spool}.bad", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _truncate(self) -> None:
        # Only this task appends, so the file holds exactly what was replayed.
        with open(self.spool, "r+b") as fh:
            fh.truncate(0)
