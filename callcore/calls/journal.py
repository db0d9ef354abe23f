"""Writes call events to the store as they happen, and never loses one.

Producers call ``emit`` (no I/O, never blocks a call flow). One writer task drains the queue
in batches. When the database is down the batch goes to an append-only spool file (fsync'ed)
and every later event follows it there, so order is kept; the writer replays the spool with
capped backoff until the database answers again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select

from callcore.bus import EventBus
from callcore.calls import types as ev
from callcore.calls.models import Call, CallEvent
from callcore.calls.types import CallEventRecord
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database

EVENTS_TABLE = cast(Table, CallEvent.__table__)

log = logging.getLogger(__name__)

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
}
_LOSS_OF_STAGE = {"arrived": "ivr", "answered": "ivr", "ivr": "ivr", "queue": "queue", "ringing": "ringing"}


def apply_event(call: Call | None, record: CallEventRecord) -> Call | None:
    """Fold one event into the call row; returns a new row for ``arrived``."""
    d = record.data
    if record.type == ev.ARRIVED:
        if call is not None:
            return None
        return Call(
            id=record.call_id,
            channel_id=str(d.get("channel_id", "")),
            direction=str(d.get("direction", "inbound")),
            caller_number=str(d.get("caller_number", "")),
            caller_name=str(d.get("caller_name", "")),
            dialed=str(d.get("dialed", "")),
            status="active",
            stage="arrived",
            arrived_at=record.at,
            attributes={},
        )
    if call is None:
        return None
    if record.type in _STAGE_OF and call.status == "active":
        call.stage = _STAGE_OF[record.type]
    if record.type == ev.ANSWERED and call.answered_at is None:
        call.answered_at = record.at
    elif record.type == ev.ATTRIBUTE_SET:
        call.attributes = {**(call.attributes or {}), str(d.get("name")): d.get("value")}
    elif record.type == ev.ENDED and call.status != "ended":
        call.status = "ended"
        call.ended_at = record.at
        call.hangup_by = d.get("by")
        call.hangup_cause = d.get("cause")
        call.hangup_cause_text = d.get("cause_text")
        if call.stage == "refused":
            call.loss_stage = "refused"
        elif call.hangup_by == "caller":
            call.loss_stage = _LOSS_OF_STAGE.get(call.stage)
    return None


class CallJournal:
    def __init__(self, db: Database, spool: Path, bus: EventBus | None = None) -> None:
        self.db = db
        self.spool = spool
        self.bus = bus
        self._queue: asyncio.Queue[CallEventRecord] = asyncio.Queue()
        self._seq = itertools.count(1)
        self._idle = asyncio.Event()
        self._idle.set()
        self._retry_delay = 0.5
        self._callers: dict[str, str] = {}
        self.written = 0

    # -- producers -------------------------------------------------------------------------
    def new_call_id(self) -> str:
        return str(uuid.uuid4())

    def emit(self, call_id: str, type_: str, data: dict[str, Any] | None = None, *, at: datetime | None = None) -> CallEventRecord:
        record = CallEventRecord(
            id=str(uuid.uuid4()), call_id=call_id, seq=next(self._seq), at=at or utcnow(), type=type_, data=data or {}
        )
        self._idle.clear()
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
            while True:
                batch = await self._next_batch(timeout=self._retry_delay if self.spooled else None)
                if self.spooled:
                    if batch:
                        await self._append_spool(batch)
                        batch = []
                    await self._replay()
                elif batch:
                    if len(batch) < BATCH:
                        # Cancelled here, ``batch`` is spooled with the rest (below).
                        await asyncio.sleep(LINGER)
                        self._drain_into(batch)
                    try:
                        await self.write(batch)
                    except OUTAGE_ERRORS as exc:
                        log.warning("database unavailable (%s): spooling %d events", type(exc).__name__, len(batch))
                        await self._append_spool(batch)
                    batch = []
                if self._queue.empty() and not self.spooled:
                    self._idle.set()
        except asyncio.CancelledError:
            # Written or not, these are kept: a replay of events already stored changes nothing.
            pending = batch + [self._queue.get_nowait() for _ in range(self._queue.qsize())]
            if pending:
                lines = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in pending)
                self._append_sync(lines)
                log.info("journal stopped: %d events kept in the spool", len(pending))
            raise

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

    async def write(self, batch: Sequence[CallEventRecord]) -> None:
        """Insert events and fold them into their calls, idempotently (a replay may repeat ids)."""
        async with self.db.session() as session:
            ids = [r.id for r in batch]
            seen = set((await session.scalars(select(CallEvent.id).where(CallEvent.id.in_(ids)))).all())
            fresh = []
            for r in batch:
                if r.id not in seen:
                    seen.add(r.id)
                    fresh.append(r)
            if not fresh:
                return
            call_ids = {r.call_id for r in fresh}
            calls = {c.id: c for c in (await session.scalars(select(Call).where(Call.id.in_(call_ids)))).all()}
            for r in fresh:
                created = apply_event(calls.get(r.call_id), r)
                if created is not None:
                    calls[r.call_id] = created
                    session.add(created)
            for r in fresh:
                if r.call_id not in calls:
                    # An event whose call row never arrived (lost producer state): keep it anyway.
                    calls[r.call_id] = Call(
                        id=r.call_id, channel_id="", arrived_at=r.at, status="active", stage="arrived", attributes={}
                    )
                    session.add(calls[r.call_id])
            # One flush for the batch's new call rows (one multi-row INSERT), before their events.
            await session.flush()
            # The events as one Core INSERT of many rows: the ORM's unit of work for thousands of
            # write-once rows was the daemon's largest CPU cost per call under load.
            await session.execute(
                insert(EVENTS_TABLE),
                [dict(id=r.id, call_id=r.call_id, seq=r.seq, at=r.at, type=r.type, data=r.data) for r in fresh],
            )
        self.written += len(fresh)

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
        raw = await asyncio.to_thread(self.spool.read_text, encoding="utf-8")
        records = []
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(CallEventRecord.from_json(json.loads(line)))
            except (ValueError, KeyError) as exc:
                # A torn last line after a crash; everything before it is still replayed.
                log.error("spool %s line %d unreadable (%s); kept in %s.bad", self.spool, n, exc, self.spool)
                await asyncio.to_thread(self._keep_bad, line)
        try:
            for i in range(0, len(records), BATCH):
                await self.write(records[i : i + BATCH])
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
