"""What the queues capability keeps in the store (T-5, T-6, C-2).

Agents (a user's 工号, name and SIP credential), each agent's live state and the history of the
events that made it (occupancy and time-in-state figures read it), and the waiting callers with
their entry time and order, so a restarted daemon (or, later, another node) puts them back where
they were. Nothing here assumes a single Asterisk: a waiting caller is known by its call id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime, utcnow


class Agent(Base):
    """An agent: a user of role agent with a number (工号) and a SIP endpoint named by it.

    Only the digest of the SIP password is kept (``md5(number:realm:password)``, what PJSIP's
    ``md5_cred`` takes): the password itself is shown to the admin once, when it is set."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, unique=True)
    sip_md5: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AgentStatus(Base):
    """An agent's live state (``callcore.queues.agents.AgentState`` as JSON), one row per agent."""

    __tablename__ = "agent_status"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AgentEventRow(Base):
    """One event an agent's state went through, with the status it led to."""

    __tablename__ = "agent_events"
    __table_args__ = (Index("ix_agent_events_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    call_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QueueEntry(Base):
    """A caller's stay in a queue: ``waiting`` until answered or gone (then ``answered``/``left``).

    ``seq`` breaks ties between callers who entered in the same millisecond; with ``entered_at``
    and ``priority`` it is the whole order of a line (``callcore.queues.waiting.line_key``)."""

    __tablename__ = "queue_entries"
    __table_args__ = (Index("ix_queue_entries_status_queue", "status", "queue"),)

    call_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    agent: Mapped[str | None] = mapped_column(String(8), nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
