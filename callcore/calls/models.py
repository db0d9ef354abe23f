"""One row per call and one row per timeline event (C-1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcore.store.base import Base, UTCDateTime


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), index=True)
    # inbound (a citizen's call), or a call the hotline placed: callback, click_to_dial, survey.
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    caller_number: Mapped[str] = mapped_column(String(40), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(128), default="")
    dialed: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    stage: Mapped[str] = mapped_column(String(16), default="arrived")
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hangup_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hangup_cause_text: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Set once the call has ended, from the classifier (``outcomes.classify``) over the whole
    # timeline: the one outcome (C-2) and where the call was lost (its ``loss_stage``: ivr, queue,
    # ringing, refused, and apart timeout, short, system; None when it was not lost).
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True, index=True)
    loss_stage: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    # What the figures (C-3) need with it: the queue and the agent (who answered, or whose phone
    # rang as the caller left), the place in line and the wait at that moment, when the caller
    # entered the queue, when an agent picked up (not ``answered_at``: the daemon answering the
    # channel), when the conversation ended and the wrap-up it earned the agent.
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    agent: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    waited: Mapped[float | None] = mapped_column(Float, nullable=True)
    queue_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    agent_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    talk_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    wrap_up_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="(CallEvent.at, CallEvent.seq)", cascade="all, delete-orphan", lazy="raise"
    )


class CallEvent(Base):
    __tablename__ = "call_events"
    __table_args__ = (Index("ix_call_events_call_seq", "call_id", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    type: Mapped[str] = mapped_column(String(48), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")
