"""Callback tasks in the store: made (de-duplicated per number), tried, closed, listed, counted.

Every reason to call a citizen back (a callback chosen in the queue, a missed call, a message)
comes through ``request``: while the number has an open task, the new reason joins it (the earliest
entry time wins, so merging never loses a place in line) instead of making a second task. The
dialer (``dialer.py``) is told of each new or changed task and of each task closed elsewhere, so
its line in memory follows the store.
"""

from __future__ import annotations

import builtins

import logging
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from callcore.callbacks.models import CallbackAttempt, CallbackTask
from callcore.callbacks.settings import CallbackSettings
from callcore.calls.outbound import NumberPolicy
from callcore.core.errors import Conflict, NotFound
from callcore.store.base import utcnow
from callcore.store.db import Database

log = logging.getLogger(__name__)

OPEN = ("pending", "dialling")
ORIGINS = ("offer", "missed", "voicemail")
# Attempt outcomes that count as a try at the citizen (an agent who left, a daemon restart do not).
COUNTED = frozenset({"no_answer", "busy", "failed"})


@dataclass(frozen=True)
class TaskView:
    """What the dialer needs of a task to put it in line."""

    id: str
    number: str
    origin: str
    queue: str
    entered_at: datetime
    seq: int
    priority: int
    attempts: int
    next_attempt_at: datetime | None
    call_id: str | None

    @classmethod
    def of(cls, t: CallbackTask) -> TaskView:
        return cls(id=t.id, number=t.number, origin=t.origin, queue=t.queue, entered_at=t.entered_at, seq=t.seq,
                   priority=t.priority, attempts=t.attempts, next_attempt_at=t.next_attempt_at, call_id=t.call_id)


class TaskListener(Protocol):
    def task_open(self, task: TaskView) -> None: ...
    def task_closed(self, task_id: str) -> None: ...


class CallbackService:
    def __init__(self, db: Database, settings: CallbackSettings, policy: NumberPolicy,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self.listeners: list[TaskListener] = []

    # -- making tasks ------------------------------------------------------------------
    async def request(self, *, number: str, origin: str, queue: str, entered_at: datetime, seq: int = 0,
                      priority: int = 0, call_id: str | None = None, voicemail_id: str | None = None,
                      asked_at: datetime | None = None) -> str | None:
        """The open task for ``number`` (made, or joined by this reason); None when the number cannot
        be dialled (anonymous, malformed, not allowed): nothing to call back. ``asked_at``: when the
        reason arose (a lost call's arrival; now by default)."""
        if origin not in ORIGINS:
            raise ValueError(f"unknown callback origin {origin!r}")
        if not self.policy.usable(number):
            log.info("no callback task: the number of call %s cannot be dialled", call_id)
            return None
        number = self.policy.check(number)
        now = self.clock()
        asked_at = asked_at or now
        reason = {"origin": origin, "call_id": call_id, "voicemail_id": voicemail_id, "at": asked_at.isoformat()}
        for _ in range(3):
            try:
                view = await self._merge_or_insert(number, origin, queue, entered_at, seq, priority, call_id, reason,
                                                   now, asked_at)
            except IntegrityError:
                continue  # another request made the number's task in the same instant: join it
            for listener in self.listeners:
                listener.task_open(view)
            return view.id
        raise Conflict(f"callback task for call {call_id} not stored: the number's task kept changing")

    async def _merge_or_insert(self, number: str, origin: str, queue: str, entered_at: datetime, seq: int,
                               priority: int, call_id: str | None, reason: dict[str, Any], now: datetime,
                               asked_at: datetime) -> TaskView:
        async with self.db.session() as s:
            task = (await s.execute(select(CallbackTask).where(CallbackTask.open_number == number))).scalar()
            if task is None:
                task = CallbackTask(
                    id=str(uuid.uuid4()), number=number, open_number=number, origin=origin, call_id=call_id,
                    queue=queue, entered_at=entered_at, seq=seq, priority=priority, status="pending", attempts=0,
                    deadline=now + timedelta(hours=self.settings.deadline_hours), created_at=now, asked_at=asked_at, origins=[reason],
                    next_attempt_at=now + timedelta(seconds=self.settings.missed_delay) if origin == "missed" else None)
                s.add(task)
            else:
                if (entered_at, seq) < (task.entered_at, task.seq):
                    task.entered_at, task.seq, task.queue = entered_at, seq, queue
                task.priority = max(task.priority, priority)
                task.asked_at = max(task.asked_at, asked_at)
                task.origins = [*task.origins, reason]
            await s.flush()
            return TaskView.of(task)

    # -- attempts ----------------------------------------------------------------------
    async def start_attempt(self, task_id: str, *, call_id: str, agent: str) -> tuple[str, int] | None:
        """Attempt n of the task begins (its agent answered); None if the task is no longer open."""
        now = self.clock()
        async with self.db.session() as s:
            task = await s.get(CallbackTask, task_id)
            if task is None or task.status not in OPEN:
                return None
            n = int((await s.execute(select(func.count()).select_from(CallbackAttempt)
                                     .where(CallbackAttempt.task_id == task_id))).scalar() or 0) + 1
            attempt = CallbackAttempt(id=str(uuid.uuid4()), task_id=task_id, n=n, call_id=call_id, agent=agent,
                                      started_at=now, outcome="dialling")
            s.add(attempt)
            task.status = "dialling"
            return attempt.id, n

    async def reached(self, task_id: str, attempt_id: str, *, agent: str) -> None:
        """The citizen answered: the task is done (whatever the conversation then is)."""
        now = self.clock()
        async with self.db.session() as s:
            await s.execute(update(CallbackAttempt).where(CallbackAttempt.id == attempt_id).values(outcome="talking"))
            await s.execute(update(CallbackTask).where(CallbackTask.id == task_id).values(
                status="reached", open_number=None, closed_at=now, closed_reason="reached", agent=agent))
        for listener in self.listeners:
            listener.task_closed(task_id)

    async def attempt_ended(self, task_id: str, attempt_id: str, outcome: str, *, cause: int | None = None) -> datetime | None:
        """Records how an attempt ended; when the next one may start, or None if the task is closed
        (reached before, attempts used up, or past its deadline)."""
        now = self.clock()
        async with self.db.session() as s:
            attempt = await s.get(CallbackAttempt, attempt_id)
            if attempt is not None:
                attempt.ended_at = now
                attempt.cause = cause
                attempt.outcome = "reached" if attempt.outcome == "talking" else outcome
            task = await s.get(CallbackTask, task_id)
            if task is None or task.status not in OPEN:
                return None
            if outcome in COUNTED:
                task.attempts += 1
            gap = self.settings.retry_gap if outcome in COUNTED else min(self.settings.retry_gap, 10.0)
            next_at = now + timedelta(seconds=gap)
            if task.attempts >= self.settings.max_attempts:
                self._close(task, "failed", "attempts_used_up", now)
            elif task.deadline is not None and next_at > task.deadline:
                self._close(task, "expired", "deadline", now)
            else:
                task.status = "pending"
                task.next_attempt_at = next_at
                return next_at
        for listener in self.listeners:
            listener.task_closed(task_id)
        return None

    async def finish_attempt(self, attempt_id: str) -> None:
        """The conversation of a reached attempt is over."""
        async with self.db.session() as s:
            await s.execute(update(CallbackAttempt).where(CallbackAttempt.id == attempt_id)
                            .values(outcome="reached", ended_at=self.clock()))

    @staticmethod
    def _close(task: CallbackTask, status: str, reason: str, now: datetime) -> None:
        task.status, task.closed_reason, task.closed_at, task.open_number = status, reason, now, None

    # -- closing from outside ----------------------------------------------------------
    async def cancel(self, task_id: str, *, reason: str) -> None:
        """A supervisor closed the task, or the citizen reached a person since: no more attempts."""
        async with self.db.session() as s:
            task = await s.get(CallbackTask, task_id)
            if task is None:
                raise NotFound(f"no callback task {task_id}")
            if task.status not in OPEN:
                raise Conflict(f"callback task {task_id} is already {task.status}")
            if task.status == "dialling":
                raise Conflict(f"callback task {task_id} is being dialled now")
            self._close(task, "cancelled", reason, self.clock())
        for listener in self.listeners:
            listener.task_closed(task_id)

    async def expire(self) -> int:
        """Closes pending tasks past their deadline."""
        now = self.clock()
        async with self.db.session() as s:
            due = (await s.execute(select(CallbackTask).where(CallbackTask.status == "pending",
                                                              CallbackTask.deadline < now))).scalars().all()
            for task in due:
                self._close(task, "expired", "deadline", now)
        for task in due:
            for listener in self.listeners:
                listener.task_closed(task.id)
        return len(due)

    async def recover(self) -> list[TaskView]:
        """At start-up: attempts the previous daemon left unfinished are interrupted (not counted);
        every open task is pending again, in line with its place. A conversation still going on is
        an attempt that reached its citizen: its task is already closed."""
        now = self.clock()
        async with self.db.session() as s:
            await s.execute(update(CallbackAttempt).where(CallbackAttempt.outcome == "dialling")
                            .values(outcome="interrupted", ended_at=now))
            await s.execute(update(CallbackTask).where(CallbackTask.status == "dialling").values(status="pending"))
            rows = (await s.execute(select(CallbackTask).where(CallbackTask.status == "pending")
                                    .order_by(CallbackTask.entered_at, CallbackTask.seq))).scalars().all()
            return [TaskView.of(t) for t in rows]

    # -- reading -----------------------------------------------------------------------
    async def pending(self, task_id: str) -> TaskView:
        """The task as it waits for its next attempt (an agent's own call may serve it now):
        ``NotFound``, or ``Conflict`` when it is closed or an attempt at it is under way."""
        async with self.db.session() as s:
            task = await s.get(CallbackTask, task_id)
            if task is None:
                raise NotFound(f"no callback task {task_id}", text="回拨任务不存在")
            if task.status == "dialling":
                raise Conflict(f"callback task {task_id} is being dialled", text="该回拨任务正在呼叫中，请稍后再试")
            if task.status not in OPEN:
                raise Conflict(f"callback task {task_id} is already {task.status}", text="回拨任务已结束，不能再回拨")
            return TaskView.of(task)

    async def get(self, task_id: str) -> tuple[CallbackTask, list[CallbackAttempt]]:
        async with self.db.session() as s:
            task = await s.get(CallbackTask, task_id)
            if task is None:
                raise NotFound(f"no callback task {task_id}")
            attempts = (await s.execute(select(CallbackAttempt).where(CallbackAttempt.task_id == task_id)
                                        .order_by(CallbackAttempt.n))).scalars().all()
            return task, list(attempts)

    async def attempt_of_call(self, call_id: str) -> tuple[CallbackTask, CallbackAttempt] | None:
        async with self.db.session() as s:
            row = (await s.execute(select(CallbackTask, CallbackAttempt)
                                   .join(CallbackAttempt, CallbackAttempt.task_id == CallbackTask.id)
                                   .where(CallbackAttempt.call_id == call_id))).first()
            return (row[0], row[1]) if row else None

    async def list(self, *, status: Sequence[str] = (), origin: str | None = None, limit: int = 100,
                   offset: int = 0) -> list[CallbackTask]:
        return (await self.page(status=status, origin=origin, limit=limit, offset=offset))[0]

    async def page(self, *, status: Sequence[str] = (), origin: str | None = None, limit: int = 100,
                   offset: int = 0) -> tuple[builtins.list[CallbackTask], int]:
        """A page of tasks, newest first, and how many match in all (the console pages with it)."""
        q = select(CallbackTask)
        if status:
            q = q.where(CallbackTask.status.in_(list(status)))
        if origin:
            q = q.where(CallbackTask.origin == origin)
        async with self.db.session() as s:
            total = await s.scalar(select(func.count()).select_from(q.subquery()))
            rows = (await s.execute(q.order_by(CallbackTask.entered_at.desc()).limit(limit).offset(offset))).scalars()
            return list(rows.all()), int(total or 0)

    async def figures(self, since: datetime, until: datetime) -> dict[str, Any]:
        """Tasks made in ``[since, until)``: how many, reached, failed, expired, cancelled, still
        open, and the median minutes from a task's making to the citizen answering."""
        async with self.db.session() as s:
            rows = (await s.execute(select(CallbackTask.status, CallbackTask.origin, CallbackTask.created_at,
                                           CallbackTask.closed_at)
                                    .where(CallbackTask.created_at >= since, CallbackTask.created_at < until))).all()
        by_status: dict[str, int] = {}
        by_origin: dict[str, int] = {}
        delays: list[float] = []
        for status, origin, created, closed in rows:
            by_status[status] = by_status.get(status, 0) + 1
            by_origin[origin] = by_origin.get(origin, 0) + 1
            if status == "reached" and closed is not None:
                delays.append((closed - created).total_seconds())
        return {
            "created": len(rows), "reached": by_status.get("reached", 0), "failed": by_status.get("failed", 0),
            "expired": by_status.get("expired", 0), "cancelled": by_status.get("cancelled", 0),
            "open": sum(by_status.get(s, 0) for s in OPEN), "by_origin": by_origin,
            "median_seconds_to_callback": round(statistics.median(delays), 1) if delays else None,
        }
