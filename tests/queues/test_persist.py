"""The queues' state writer: a batch of agent changes stores each agent's latest state and every
event in the order it happened, whether the agent had a row or not, beside the callers' entries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import select

from callcore.queues.agents import AgentState, Login, Pause, Resume, Ring
from callcore.queues.models import Agent, AgentEventRow, AgentStatus, QueueEntry
from callcore.queues.persist import StateWriter
from callcore.queues.waiting import WaitingCaller
from callcore.store.base import utcnow
from callcore.store.db import Database


async def agents(db: Database, *numbers: str) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in numbers]
    async with db.session() as s:
        for agent_id, number in zip(ids, numbers):
            s.add(Agent(id=agent_id, number=number, name=f"坐席{number}", sip_md5="0" * 32))
    return ids


async def test_a_batch_keeps_each_agents_latest_state_and_every_event_in_order(db: Database) -> None:
    a, b = await agents(db, "7101", "7102")
    writer = StateWriter(db)
    t0 = utcnow()
    writer.agent(a, AgentState(agent_id=a, status="ready", since=t0), Login(), t0)
    await asyncio.wait_for(_drained(writer), 5)  # a has a row now; b has none
    # One batch: a changes three times, b appears and changes, a caller enters and leaves.
    t1, t2, t3 = (t0 + timedelta(seconds=n) for n in (1, 2, 3))
    writer.agent(a, AgentState(agent_id=a, status="paused", since=t1, pause_reason="break"), Pause("break"), t1)
    writer.agent(b, AgentState(agent_id=b, status="ready", since=t1), Login(), t1)
    writer.agent(a, AgentState(agent_id=a, status="ready", since=t2), Resume(), t2)
    caller = WaitingCaller(call_id="c1", queue="general", entered_at=t2, seq=1, priority=0)
    writer.entered(caller, "ch-1")
    writer.agent(a, AgentState(agent_id=a, status="ringing", since=t3, call_id="c1"), Ring("c1"), t3)
    writer.agent(b, AgentState(agent_id=b, status="ready", since=t1, registered=True), None, t3)
    writer.left("c1", "answered", t3, agent="7101")
    await asyncio.wait_for(_drained(writer), 5)
    async with db.session() as s:
        status = {r.agent_id: r for r in await s.scalars(select(AgentStatus))}
        events = [(r.agent_id, r.event, r.status, r.call_id)
                  for r in await s.scalars(select(AgentEventRow).order_by(AgentEventRow.id))]
        [entry] = list(await s.scalars(select(QueueEntry)))
    assert (status[a].status, status[a].since, status[a].state["call_id"]) == ("ringing", t3, "c1")
    assert (status[b].status, status[b].state["registered"]) == ("ready", True)
    assert events == [(a, "login", "ready", None), (a, "pause", "paused", None), (b, "login", "ready", None),
                      (a, "resume", "ready", None), (a, "ring", "ringing", "c1")]
    assert (entry.call_id, entry.status, entry.agent, entry.channel_id) == ("c1", "answered", "7101", "ch-1")


async def _drained(writer: StateWriter) -> None:
    """Runs the writer until what was queued is written (``wait_idle``: set again only after a write)."""
    task = asyncio.ensure_future(writer.run())
    try:
        await writer.wait_idle()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
