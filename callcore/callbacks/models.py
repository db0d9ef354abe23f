"""What the callbacks capability keeps in the store: the tasks and every attempt at each.

A task is one citizen's number to call back, whatever the reasons (a callback chosen in the queue,
a missed call, a message): tasks are de-duplicated per number while open, enforced by the unique
``open_number`` (the number while the task is open, NULL once it is closed). ``entered_at`` is
the moment the citizen first entered a queue (or called): the dialer serves tasks in the queues'
order with it, so a caller who chose a callback keeps their place in line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime, utcnow


class CallbackTask(Base):
    __tablename__ = "callback_tasks"
    __table_args__ = (Index("ix_callback_tasks_status_entered", "status", "entered_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), index=True)
    # The number while the task is open (pending or dialling), NULL once closed: one open task per number.
    open_number: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    # Why the citizen is called back first: "offer" (chose it in the queue), "missed" (lost in the
    # queue or while a phone rang), "voicemail" (left a message); later reasons join ``origins``.
    origin: Mapped[str] = mapped_column(String(16))
    call_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    queue: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # pending, dialling, reached, failed (attempts used up), expired (deadline passed), cancelled
    # (the citizen reached a person since, or a supervisor closed it).
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the latest reason arose (a lost call's arrival, the offer accepted, the message): a call
    # of the citizen answered after this makes the callback needless.
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Every call and message that asked for this callback: [{"origin", "call_id", "voicemail_id", "at"}].
    origins: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class CallbackAttempt(Base):
    """One try at a task: the agent rung first, then the citizen; its own call record is ``call_id``."""

    __tablename__ = "callback_attempts"
    __table_args__ = (Index("ix_callback_attempts_task", "task_id", "n"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("callback_tasks.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str] = mapped_column(String(36), index=True)
    agent: Mapped[str | None] = mapped_column(String(8), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # dialling, talking, then: reached, no_answer, busy, failed, agent_gone, interrupted
    outcome: Mapped[str] = mapped_column(String(16), default="dialling")
    cause: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MissedCallSeen(Base):
    """A lost call the missed-call sweep has decided on (a task made or merged, or none needed),
    so a restarted sweep never makes a second task for it."""

    __tablename__ = "callback_missed_seen"

    call_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decision: Mapped[str] = mapped_column(String(24))
