"""What the surveys capability keeps in the store: one row per rated call (T-14, W-12).

``kind`` says which survey: ``inbound`` (the caller stayed on the line after the agent hung up;
``agent`` and ``queue`` say whose conversation was rated) or ``outbound`` (a survey call about a
ticket, W-12). ``ticket_id`` is the ticket the survey was about: the outbound call's, or for an
inbound one the first ticket linked to the call when it was rated; tickets linked later still
reach the rating through the call (``ticket_calls``). ``call_id`` is not a foreign key: the call's
own row is written by the journal's batching writer and may arrive after this one. One rating per
call: the unique ``call_id`` makes storing it twice a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime

INBOUND: Final = "inbound"
OUTBOUND: Final = "outbound"
KINDS: Final = (INBOUND, OUTBOUND)
RATINGS: Final = (1, 2, 3, 4)


class SurveyRating(Base):
    __tablename__ = "survey_ratings"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 4", name="rating"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(36), unique=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    agent: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # 1 very satisfied, 2 satisfied, 3 basically satisfied, 4 unsatisfied (T-14's keypad scale).
    rating: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default=INBOUND)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SurveyCall(Base):
    """One automatic survey call about a ticket sampled for a satisfaction callback (W-12): its call
    record and how it went, so a ticket is called at most ``surveys.call_attempts`` times, spaced."""

    __tablename__ = "survey_calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), index=True)
    call_id: Mapped[str] = mapped_column(String(36))
    n: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # dialling, then: rated, not_rated (answered, no key), no_answer, busy, failed
    outcome: Mapped[str] = mapped_column(String(16), default="dialling")
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
