"""Numbers refused by policy (T-15). One row per number; a row with ``until`` in the past no longer applies.

Kept deliberately small: the screen-pop profile (T-8) reads the same table for its blacklist flag.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime, utcnow


class BlockedNumber(Base):
    __tablename__ = "blocked_numbers"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(String(256), default="")
    added_by: Mapped[str] = mapped_column(String(128), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
