"""What the recordings capability keeps in the store (T-9, T-10).

One row per recording Asterisk made of a conversation (``kind`` call), or of a caller leaving a
message (``kind`` voicemail: its ``mailbox``, whether it was handled, and a ``quality`` mark for a
message too short or silent to be one, kept all the same). The row is written when the recording
starts (``status`` recording) and completed when it ends, with what was measured from the file
(duration, size, checksum): a call whose recording failed or whose file later went missing still
has its row, so lists report it instead of silently dropping it. ``call_id`` is not a foreign key:
the call's own row is written by the journal's batching writer and may arrive after this one.
Tickets reach their recordings through the call (``tickets.call_id`` and ``ticket_calls``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime

RECORDING = "recording"  # Asterisk is writing it
DONE = "done"            # finished and measured
FAILED = "failed"        # Asterisk refused to record: the call went on without a recording

CALL = "call"            # a conversation, recorded on its bridge
VOICEMAIL = "voicemail"  # a message a caller left, recorded on their channel
KINDS = (CALL, VOICEMAIL)
TOO_SHORT = "too_short"  # a message under ``voicemail.MIN_SECONDS``
SILENT = "silent"        # a message with no speech in it (``voicemail.SILENT_DBFS``)


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(36), index=True)
    # Asterisk's name of the recording (the file is ``<name>.<format>`` in its recording directory).
    name: Mapped[str] = mapped_column(String(128), unique=True)
    bridge_id: Mapped[str] = mapped_column(String(64), default="")
    # The channel MixMonitor records (the citizen's leg); the sweep completes the row once it is gone.
    channel_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    agent: Mapped[str | None] = mapped_column(String(8), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    path: Mapped[str] = mapped_column(String(1024))
    format: Mapped[str] = mapped_column(String(8), default="wav")
    status: Mapped[str] = mapped_column(String(16), default=RECORDING, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Seconds of audio in the file, measured from it (not the time between start and stop).
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The file was not there when last looked at (the API also checks at every read).
    missing: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(256), nullable=True)
    backed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default=CALL, server_default=CALL, index=True)
    mailbox: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # None, TOO_SHORT or SILENT (voicemail only): the message is kept and listed with its mark.
    quality: Mapped[str | None] = mapped_column(String(16), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
