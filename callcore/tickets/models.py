"""Tickets (工单), their events, and the reference tables the workflow reads (W-1..W-17).

The ticket row is a projection of its events: ``callcore.tickets.workflow.replay`` of the
events gives the same state as the columns (checked by the tests); events are only appended.
Tickets are dispatched to the departments of ``callcore.accounts.models.Department``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcore.store.base import Base, UTCDateTime, utcnow


class Category(Base):
    """A ticket category with its time limit in working days (W-2, W-7)."""

    __tablename__ = "ticket_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    limit_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CalendarOverride(Base):
    """An admin's correction of the working-day calendar: a holiday or a make-up working day (调休)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(128), default="")


class TicketSequence(Base):
    """Per-day counter for ticket numbers; an upsert makes numbers unique across daemons."""

    __tablename__ = "ticket_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_phone_received", "phone", "received_at"),
        Index("ix_tickets_dept_status_received", "department_id", "status", "received_at"),
        # Urge scheduler and S-1 "open overdue" (index-only with the department).
        Index("ix_tickets_status_due", "status", "due_date", "department_id"),
        # The center's lists by category over a period.
        Index("ix_tickets_category_received", "category", "received_at"),
        Index("ix_tickets_closed_dept", "closed_at", "department_id"),
        # The health warning: open tickets whose deadline reaches a year without holiday data (few rows).
        Index("ix_tickets_due_unverified", "due_unverified", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    query_code: Mapped[str] = mapped_column(String(12), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), nullable=True)
    caller_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    id_card: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(256), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    category: Mapped[str] = mapped_column(ForeignKey("ticket_categories.code"))
    title: Mapped[str] = mapped_column(String(128), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    # The projection of the events (workflow.TicketState); never edited except by appending an event.
    status: Mapped[str] = mapped_column(String(16), default="new")
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    due_date: Mapped[date] = mapped_column(Date)
    sign_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    return_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    extension_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    explained_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    redo_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfaction: Mapped[str | None] = mapped_column(String(24), nullable=True)
    visit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reply: Mapped[str] = mapped_column(Text, default="")
    reject_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    merged_into: Mapped[str | None] = mapped_column(String(36), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # The deadline's basis (working days from a day, plus the working days paused), for recounting it
    # after a calendar change; null for a date a person chose (an approved extension).
    due_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The deadline spans a year without official holiday data (calendar.py says what covers a year).
    due_unverified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    approved_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    paused_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    pause_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # 首问负责制: the first member of staff who took the ticket (not a projection of the state: the service
    # records it with the first event a person makes).
    first_responsible_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_responsible_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketEvent(Base):
    """One step on a ticket (W-15): who, role, department, when, what, note, status before and after."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_seq"),
        # Covers the S-1 aggregates (period, action, department) with an index-only scan.
        Index("ix_ticket_events_at_action", "at", "action", "department_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    actor_department_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # The department the step concerns (the target of a dispatch, the signer...): statistics count on it.
    department_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketDepartment(Base):
    """Departments a ticket is currently dispatched to (lead and assisting): what a handler may see (A-1).

    It doubles as each department's inbox: the ticket's status, receipt time and category are copied here
    (kept in step by the service) so a department's list is an index range scan, not a join over
    every ticket the department ever had.
    """

    __tablename__ = "ticket_departments"
    __table_args__ = (
        # ticket_id last: a department's page is an index-only scan.
        Index("ix_ticket_departments_dept_status", "department_id", "status", "received_at", "ticket_id"),
        Index("ix_ticket_departments_dept_received", "department_id", "received_at", "ticket_id"),
        Index("ix_ticket_departments_dept_category", "department_id", "category", "received_at", "ticket_id"),
    )

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    category: Mapped[str] = mapped_column(String(32))


class TicketCall(Base):
    """Calls a ticket came from or was discussed in."""

    __tablename__ = "ticket_calls"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class TicketLink(Base):
    """A link between two tickets (duplicate hint accepted, or a merge)."""

    __tablename__ = "ticket_links"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    other_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))


class TicketUrge(Base):
    """One urge notice (W-10). The primary key makes each urge happen once across daemons."""

    __tablename__ = "ticket_urges"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    department_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxMessage(Base):
    """A notification written in the transaction of the event that causes it (W-17)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(128))
    ticket_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(String(512), default="")
