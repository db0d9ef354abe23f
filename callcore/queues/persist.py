"""Writes the queues' live state to the store behind the calls, in order, and never drops a write.

Ringing an agent must not wait for the database, so each change (an agent's new state with the
event that made it, a caller entering or leaving a line) is queued here and one task writes them in
the order they happened, a batch per transaction. While the database is down the writes wait in
memory and are retried with capped backoff: the state they carry is still the daemon's, and the
latest write of a row wins, so a late write can never bring back an older state.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcore.queues.agents import AgentEvent, AgentState, event_to_json
from callcore.queues.models import AgentEventRow, AgentStatus, QueueEntry
from callcore.queues.waiting import WaitingCaller
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

BATCH = 200
STATUS = cast(Table, AgentStatus.__table__)
EVENTS = cast(Table, AgentEventRow.__table__)
ENTRIES = cast(Table, QueueEntry.__table__)


def state_to_json(s: AgentState) -> dict[str, Any]:
    """The stored form of an agent's state (datetimes as ISO text; ``tz`` rules are not state)."""
    out: dict[str, Any] = {}
    for key, value in asdict(s).items():
        out[key] = value.isoformat() if isinstance(value, (datetime, date)) else value
    return out


def state_from_json(raw: dict[str, Any]) -> AgentState:
    values = dict(raw)
    for key in ("since", "wrap_up_until", "last_call_ended_at"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    if values.get("answered_day"):
        values["answered_day"] = date.fromisoformat(values["answered_day"])
    known = set(AgentState.__dataclass_fields__)
    return AgentState(**{k: v for k, v in values.items() if k in known})


class StateWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()

    # -- producers (no I/O) ------------------------------------------------------------
    def agent(self, db_id: str, state: AgentState, event: AgentEvent | None, at: datetime) -> None:
        """The agent's new state, and the event that led to it (None for a state only reloaded)."""
        self._put("agent", {"agent_id": db_id, "status": state.status, "since": state.since,
                            "state": state_to_json(state), "at": at, "call_id": state.call_id,
                            "event": event_to_json(event) if event is not None else None})

    def entered(self, caller: WaitingCaller, channel_id: str) -> None:
        self._put("entered", {"call_id": caller.call_id, "queue": caller.queue, "channel_id": channel_id,
                              "entered_at": caller.entered_at, "seq": caller.seq, "priority": caller.priority})

    def left(self, call_id: str, status: str, at: datetime, agent: str | None = None) -> None:
        self._put("left", {"call_id": call_id, "status": status, "left_at": at, "agent": agent})

    def _put(self, kind: str, row: dict[str, Any]) -> None:
        self._idle.clear()
        self._queue.put_nowait((kind, row))

    async def wait_idle(self) -> None:
        await self._idle.wait()

    # -- the writer --------------------------------------------------------------------
    async def run(self) -> None:
        delay = 0.5
        while True:
            if self._queue.empty():
                self._idle.set()
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            while True:
                try:
                    async with self.db.engine.begin() as conn:
                        await _write_batch(conn, batch)
                    delay = 0.5
                    break
                except OUTAGE_ERRORS as exc:
                    log.warning("queue state not written (%s); retrying in %.1f s", type(exc).__name__, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)


async def _write_batch(conn: AsyncConnection, batch: list[tuple[str, dict[str, Any]]]) -> None:
    """One transaction for a batch. Agents' rows go first, a few statements for the whole batch: each
    agent's latest state (a busy hotline changes an agent's state several times a second in all, and
    a statement per change was most of this writer's time) and every event, in order. The callers'
    entries follow one by one, in order: an entry and its leaving may share a batch."""
    agents = [row for kind, row in batch if kind == "agent"]
    if agents:
        await _write_agents(conn, agents)
    for kind, row in batch:
        if kind != "agent":
            await _WRITERS[kind](conn, row)


async def _write_agents(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    table = STATUS
    latest = {row["agent_id"]: {"status": row["status"], "since": row["since"], "state": row["state"]} for row in rows}
    found = set((await conn.execute(select(table.c.agent_id).where(table.c.agent_id.in_(list(latest))))).scalars())
    new = [{"agent_id": agent_id, **values} for agent_id, values in latest.items() if agent_id not in found]
    known = [{"key": agent_id, **values} for agent_id, values in latest.items() if agent_id in found]
    if new:
        await conn.execute(insert(table), new)
    if known:
        await conn.execute(update(table).where(table.c.agent_id == bindparam("key"))
                           .values(status=bindparam("status"), since=bindparam("since"), state=bindparam("state")),
                           known)
    events = []
    for row in rows:
        if row["event"] is not None:
            event = dict(row["event"])
            events.append({"agent_id": row["agent_id"], "at": row["at"], "event": str(event.pop("event")),
                           "status": row["status"], "call_id": row["call_id"], "data": event})
    if events:
        await conn.execute(insert(EVENTS), events)


async def _write_entered(conn: AsyncConnection, row: dict[str, Any]) -> None:
    table = ENTRIES
    # A resumed caller enters again with the same row: the first entry time and order stand.
    await conn.execute(delete(table).where(table.c.call_id == row["call_id"]))
    await conn.execute(insert(table).values(status="waiting", **row))


async def _write_left(conn: AsyncConnection, row: dict[str, Any]) -> None:
    table = ENTRIES
    await conn.execute(update(table).where(table.c.call_id == row["call_id"]).values(
        status=row["status"], left_at=row["left_at"], agent=row["agent"]))


_WRITERS = {"entered": _write_entered, "left": _write_left}
