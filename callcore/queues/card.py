"""The caller's card an agent's browser shows when the phone rings (T-8, screen pop).

T-8 gives 200 ms from the ring to the browser, so the card is built once, when the caller enters a
queue, and ringing only sends it. Building it is a fixed handful of indexed reads, however long the
caller's history: the last calls and tickets of the number (``tickets.queries.caller_history``), the
count of its open tickets, the block on it, the agents who took those calls and the category names.
A store that is down or slow never holds a caller back: the card then carries what the call itself
knows and says it is incomplete.

The card holds the whole number; ``to_json`` decides per reader what leaves the daemon (A-2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import select

from callcore.calls.events import IVR_LEFT
from callcore.calls.models import Call
from callcore.core.identity import PHONE_ROLES, READ_ALL, SYSTEM_PRINCIPAL, Principal
from callcore.core.privacy import mask_phone, scrub
from callcore.queues.models import QueueEntry
from callcore.routing import blocklist
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database
from callcore.tickets import queries, reference
from callcore.tickets.deadlines import colour_of
from callcore.tickets.models import Ticket
from callcore.tickets.services import TicketService
from callcore.tickets.workflow import STATUS_TEXT

log = logging.getLogger(__name__)

HISTORY = 5  # calls and tickets shown
SUMMARY_CHARS = 40
# A call's result as the agent reads it, from the call row (no outcome column: C-2's classifier
# needs the timeline, which a card must not read for every past call).
RESULT_TEXT = {
    "active": "通话中", "answered": "已接听", "voicemail": "已留言", "ivr": "菜单中挂机", "queue": "排队中放弃",
    "ringing": "振铃中放弃", "refused": "按策略拒接", "ended": "已结束",
}


class TimelineEvent(Protocol):
    """What the card reads of a timeline event: a journal record or a stored ``CallEvent`` row."""

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class CallBrief:
    call_id: str
    arrived_at: datetime
    status: str  # active, ended
    stage: str
    loss_stage: str | None  # where a call without a conversation was lost (C-2)
    result_text: str
    duration_seconds: int | None  # arrival to end; None while it lasts
    agent: str | None  # the agent number that answered, if one did


@dataclass(frozen=True, kw_only=True)
class TicketBrief:
    number: str
    category: str
    category_text: str
    status: str
    status_text: str
    colour: str  # W-8: green, yellow, red
    received_at: datetime
    summary: str


@dataclass(frozen=True, kw_only=True)
class CallerCard:
    """Everything the screen pop shows. ``tags`` and ``vip`` are empty until the contact records of
    K-2 exist: nothing in the store holds them yet, and a card must not guess."""

    call_id: str
    caller_number: str
    caller_name: str = ""  # from the caller's latest ticket that names them
    tags: tuple[str, ...] = ()
    blacklisted: bool = False
    blacklist_reason: str = ""
    vip: bool = False
    repeat_caller: bool = False  # the number called before
    open_tickets: int = 0
    category: str | None = None  # the menu's hint (the ``category`` call attribute)
    category_text: str = ""
    ivr_path: tuple[str, ...] = ()
    calls: tuple[CallBrief, ...] = ()
    tickets: tuple[TicketBrief, ...] = ()
    complete: bool = True  # False when the store could not be read in time
    built_at: datetime

    def to_json(self, reader: Principal) -> dict[str, Any]:
        """The card for ``reader``: the whole number only for roles that need it (A-2), masked by
        ``core.privacy`` otherwise, with the numbers in names and summaries masked too; the ticket
        history only for roles that read every ticket (a handler sees only the department's, A-1)."""
        whole = reader.role in PHONE_ROLES
        text = (lambda v: v) if whole else scrub
        return {
            "call_id": self.call_id,
            "caller_number": self.caller_number if whole else mask_phone(self.caller_number),
            "caller_name": text(self.caller_name),
            "tags": list(self.tags),
            "flags": {"blacklisted": self.blacklisted, "blacklist_reason": text(self.blacklist_reason),
                      "vip": self.vip, "repeat_caller": self.repeat_caller, "open_tickets": self.open_tickets},
            "category": self.category,
            "category_text": self.category_text,
            "ivr_path": list(self.ivr_path),
            "calls": [{"call_id": c.call_id, "arrived_at": _utc(c.arrived_at), "status": c.status, "stage": c.stage,
                       "loss_stage": c.loss_stage, "result_text": c.result_text,
                       "duration_seconds": c.duration_seconds, "agent": c.agent} for c in self.calls],
            "tickets": [{"number": t.number, "category": t.category, "category_text": t.category_text,
                         "status": t.status, "status_text": t.status_text, "colour": t.colour,
                         "received_at": _utc(t.received_at), "summary": text(t.summary)}
                        for t in self.tickets] if reader.role in READ_ALL else [],
            "complete": self.complete,
            "built_at": _utc(self.built_at),
        }


def _utc(at: datetime) -> str:
    """C-1: UTC with milliseconds, as the API and the event stream write times."""
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ivr_path_of(timeline: Iterable[TimelineEvent]) -> tuple[str, ...]:
    """The menu nodes the caller went through, from the last ``ivr_left`` event (a resumed call has
    its timeline, not the menu's outcome)."""
    path: tuple[str, ...] = ()
    for e in timeline:
        if e.type == IVR_LEFT and isinstance(e.data.get("path"), list):
            path = tuple(str(node) for node in e.data["path"])
    return path


def _summary(t: Ticket) -> str:
    text = " ".join((t.title or t.content).split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _result(c: Call, agent: str | None) -> str:
    if c.status == "active":
        return RESULT_TEXT["active"]
    if agent or c.stage == "talking":
        return RESULT_TEXT["answered"]
    if c.stage == "voicemail":
        return RESULT_TEXT["voicemail"]
    return RESULT_TEXT.get(c.loss_stage or "", RESULT_TEXT["ended"])


async def _agents(db: Database, call_ids: Sequence[str]) -> dict[str, str]:
    """The agent who answered each call, from the queue's own record of the callers it served."""
    if not call_ids:
        return {}
    async with db.session() as s:
        rows = await s.execute(select(QueueEntry.call_id, QueueEntry.agent)
                               .where(QueueEntry.call_id.in_(call_ids), QueueEntry.agent.is_not(None)))
        return {call_id: agent for call_id, agent in rows if agent}


async def caller_card(db: Database, *, call_id: str, caller_number: str, attributes: Mapping[str, Any],
                      tickets: TicketService, ivr_path: Sequence[str] | None = None,
                      timeline: Iterable[TimelineEvent] = (), now: datetime | None = None,
                      timeout: float = 2.0) -> CallerCard:
    """The card of a caller entering a queue; call it once then, and send the result at each ring.

    ``attributes`` are the call's (``category`` is the menu's hint); the IVR path is ``ivr_path``
    (the menu outcome's) or else read from ``timeline``. At most six statements, whatever the
    history's length (an anonymous caller: at most one, the category names). ``now`` fixes today's
    colours and the block's expiry (tests).
    """
    now = now or utcnow()
    hint = attributes.get("category")
    category = str(hint) if hint not in (None, "") else None
    card: dict[str, Any] = {
        "call_id": call_id, "caller_number": caller_number, "category": category, "built_at": now,
        "ivr_path": tuple(ivr_path) if ivr_path is not None else ivr_path_of(timeline),
    }
    try:
        async with asyncio.timeout(timeout):
            card.update(await _history(db, tickets, call_id=call_id, number=caller_number, category=category,
                                       now=now))
    except OUTAGE_ERRORS as exc:
        log.warning("call %s: caller card without history (store unavailable: %s)", call_id,
                    type(exc).__name__)
        card.update(complete=False, category_text=category or "")
    return CallerCard(**card)


async def _history(db: Database, tickets: TicketService, *, call_id: str, number: str, category: str | None,
                   now: datetime) -> dict[str, Any]:
    if not number and category is None:  # anonymous: every call without a number would be "its" history
        return {}
    names = {c.code: c.name for c in await reference.categories(tickets)}
    out: dict[str, Any] = {"category_text": names.get(category, category) if category else ""}
    if not number:
        return out
    today, yellow_until = await tickets.colour_days(now)
    # Read as the system: the card is built once for whoever answers, and ``to_json`` filters per reader.
    # One more call than shown: the current call may already be stored.
    hist = await queries.caller_history(db, SYSTEM_PRINCIPAL, number, limit=HISTORY + 1)
    calls = [c for c in hist.calls if c.id != call_id][:HISTORY]
    agents = await _agents(db, [c.id for c in calls])
    block = await blocklist.blocked(db, number, at=now)
    shown = hist.tickets[:HISTORY]
    out.update(
        caller_name=next((t.caller_name for t in shown if t.caller_name.strip()), ""),
        blacklisted=block is not None,
        blacklist_reason=block.reason if block is not None else "",
        repeat_caller=bool(calls),
        open_tickets=await queries.open_ticket_count(db, number),
        calls=tuple(CallBrief(
            call_id=c.id, arrived_at=c.arrived_at, status=c.status, stage=c.stage, loss_stage=c.loss_stage,
            result_text=_result(c, agents.get(c.id)), agent=agents.get(c.id),
            duration_seconds=None if c.ended_at is None else max(0, round((c.ended_at - c.arrived_at).total_seconds())),
        ) for c in calls),
        tickets=tuple(TicketBrief(
            number=t.number, category=t.category, category_text=names.get(t.category, t.category), status=t.status,
            status_text=STATUS_TEXT.get(t.status, t.status),
            colour=colour_of(t.status, t.due_date, t.closed_on_time, today, yellow_until),
            received_at=t.received_at, summary=_summary(t),
        ) for t in shown),
    )
    return out
