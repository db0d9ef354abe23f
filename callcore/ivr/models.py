"""Every accepted version of every IVR menu, with who changed it and when (T-2). Versions are only added:
a rollback adds a new version with the old text (``based_on`` names it), so the history reads in order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime, utcnow


class MenuVersion(Base):
    __tablename__ = "ivr_menu_versions"
    __table_args__ = (UniqueConstraint("menu", "version", name="uq_ivr_menu_versions_menu_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    menu: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(128))
    # "file" (read from ivr/ at start or on change), "api", "rollback"
    origin: Mapped[str] = mapped_column(String(16), default="api")
    comment: Mapped[str] = mapped_column(String(256), default="")
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
