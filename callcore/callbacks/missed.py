"""漏接回拨: every call lost in a queue or while an agent's phone rang becomes a callback task.

A periodic sweep over the stored calls, not an event handler: the outcome is stored with the
ended call (``calls.outcome``), so the sweep sees every lost call whatever happened in between
(a restart, a burst the event stream dropped), and ``callback_missed_seen`` makes each decision
once. A call gets no task when its number cannot be dialled, or when the same number reached a
person since (it called again and was answered); an open task is closed the same way when its
citizen reaches a person before the callback. Short abandons (hung up within seconds: misdials)
are not lost calls to call back.

The same sweep makes sure every message left has its task: the voicemail listener makes it at once
(``CallbacksPlugin``), and a message whose task was not made then (the daemon stopped in between,
the store was down) gets it here; each message is decided once, like a lost call (keyed by the
message's recording id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError

from callcore.callbacks.models import CallbackTask, MissedCallSeen
from callcore.callbacks.services import CallbackService
from callcore.calls import outcomes as oc
from callcore.calls.models import Call
from callcore.recordings.models import Recording
from callcore.store.base import utcnow

log = logging.getLogger(__name__)

MISSED: tuple[str, ...] = (oc.ABANDONED_IN_QUEUE, oc.LOST_WHILE_RINGING, oc.QUEUE_TIMEOUT)
# How far back the sweep looks: a call older than this when first seen is history, not a callback.
LOOKBACK = timedelta(hours=24)
BATCH = 200


class MissedCallSweep:
    """The periodic job (``run_once``): tasks for new lost calls, closing tasks whose citizen got through."""

    def __init__(self, callbacks: CallbackService, *, enabled: bool, clock: Callable[[], datetime] = utcnow) -> None:
        self.callbacks = callbacks
        self.enabled = enabled
        self.clock = clock

    async def run_once(self) -> int:
        n = await self._close_reached()
        n += await self.callbacks.expire()
        if self.enabled:
            n += await self._new_losses()
        n += await self._messages_without_task()
        return n

    async def voicemail_task(self, *, recording_id: str, call_id: str, number: str, queue: str | None,
                             at: datetime) -> str | None:
        """The task of a message (made or joined), decided once per message."""
        db = self.callbacks.db
        async with db.session() as s:
            if await s.get(MissedCallSeen, recording_id) is not None:
                return None
        task_id = await self.callbacks.request(number=number, origin="voicemail", queue=queue or "general",
                                               entered_at=at, call_id=call_id, voicemail_id=recording_id, asked_at=at)
        try:
            async with db.session() as s:
                s.add(MissedCallSeen(call_id=recording_id, task_id=task_id, decided_at=self.clock(),
                                     decision="voicemail_task" if task_id else "no_number"))
        except IntegrityError:
            pass
        return task_id

    async def _messages_without_task(self) -> int:
        db, now = self.callbacks.db, self.clock()
        r = Recording
        seen = exists().where(MissedCallSeen.call_id == r.id)
        async with db.session() as s:
            rows = (await s.execute(
                select(r.id, r.call_id, r.queue, r.started_at, Call.caller_number)
                .join(Call, Call.id == r.call_id)
                .where(r.kind == "voicemail", r.handled_at.is_(None), r.started_at >= now - LOOKBACK, ~seen)
                .order_by(r.started_at).limit(BATCH))).all()
        made = 0
        for recording_id, call_id, queue, started_at, number in rows:
            if await self.voicemail_task(recording_id=recording_id, call_id=call_id, number=number or "",
                                         queue=queue, at=started_at):
                made += 1
        return made

    async def _new_losses(self) -> int:
        db, now = self.callbacks.db, self.clock()
        c = Call
        later = c.__table__.alias("later")
        reached_since = exists().where(
            later.c.caller_number == c.caller_number, later.c.direction == "inbound",
            later.c.arrived_at > c.arrived_at, later.c.agent_answered_at.is_not(None))
        seen = exists().where(MissedCallSeen.call_id == c.id)
        async with db.session() as s:
            rows = (await s.execute(
                select(c.id, c.caller_number, c.queue, c.queue_entered_at, c.arrived_at, reached_since)
                .where(c.direction == "inbound", c.outcome.in_(MISSED), c.ended_at >= now - LOOKBACK, ~seen)
                .order_by(c.arrived_at).limit(BATCH))).all()
        made = 0
        for call_id, number, queue, entered_at, arrived_at, reached in rows:
            task_id: str | None = None
            if reached:
                decision = "reached_since"
            elif not self.callbacks.policy.usable(number or ""):
                decision = "no_number"
            else:
                task_id = await self.callbacks.request(number=number, origin="missed", queue=queue or "general",
                                                       entered_at=entered_at or arrived_at, call_id=call_id,
                                                       asked_at=arrived_at)
                decision = "task" if task_id else "no_number"
                made += 1 if task_id else 0
            try:
                async with db.session() as s:
                    s.add(MissedCallSeen(call_id=call_id, task_id=task_id, decided_at=now, decision=decision))
            except IntegrityError:
                pass  # decided by another sweep meanwhile
        return made

    async def _close_reached(self) -> int:
        """Open tasks whose number was answered by an agent in a call that came after the task's
        latest reason: cancelled."""
        c = Call
        async with self.callbacks.db.session() as s:
            ids = (await s.execute(
                select(CallbackTask.id).where(CallbackTask.status == "pending", exists().where(and_(
                    c.caller_number == CallbackTask.number, c.direction == "inbound",
                    c.arrived_at > CallbackTask.asked_at, c.agent_answered_at.is_not(None)))))).scalars().all()
        closed = 0
        for task_id in ids:
            try:
                await self.callbacks.cancel(task_id, reason="reached_since")
                closed += 1
            except Exception as exc:  # noqa: BLE001 - being dialled right now, or closed meanwhile
                log.info("callback task %s not closed: %s", task_id, exc)
        return closed
