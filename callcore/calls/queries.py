"""Read side of calls for the API: filtered pages and one call with its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select

from callcore.calls.models import Call, CallEvent
from callcore.store.db import Database


@dataclass(frozen=True, kw_only=True)
class CallFilter:
    since: datetime | None = None
    until: datetime | None = None
    caller: str | None = None
    direction: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0
    # The calls the reader may see at all (``callcore.calls.scope``); None: every call.
    scope: ColumnElement[bool] | None = None


def _filtered(f: CallFilter) -> Select[Call]:
    q = select(Call)
    if f.scope is not None:
        q = q.where(f.scope)
    if f.since is not None:
        q = q.where(Call.arrived_at >= f.since)
    if f.until is not None:
        q = q.where(Call.arrived_at < f.until)
    if f.caller:
        q = q.where(Call.caller_number == f.caller)
    if f.direction:
        q = q.where(Call.direction == f.direction)
    if f.status:
        q = q.where(Call.status == f.status)
    return q


async def list_calls(db: Database, f: CallFilter) -> tuple[list[Call], int]:
    q = _filtered(f)
    async with db.session() as s:
        total = await s.scalar(select(func.count()).select_from(q.subquery()))
        rows = await s.scalars(q.order_by(Call.arrived_at.desc(), Call.id).limit(f.limit).offset(f.offset))
        return list(rows), int(total or 0)


async def get_call(db: Database, call_id: str, scope: ColumnElement[bool] | None = None,
                   ) -> tuple[Call, list[CallEvent]] | None:
    """The call and its timeline; None when there is no such call or ``scope`` hides it (the same
    answer, so a reader cannot learn that a call they may not see exists)."""
    async with db.session() as s:
        q = select(Call).where(Call.id == call_id)
        if scope is not None:
            q = q.where(scope)
        call = await s.scalar(q)
        if call is None:
            return None
        events = await s.scalars(
            select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.at, CallEvent.seq)
        )
        return call, list(events)


async def find_by_channel(db: Database, channel_id: str) -> Call | None:
    async with db.session() as s:
        return await s.scalar(
            select(Call).where(Call.channel_id == channel_id).order_by(Call.arrived_at.desc()).limit(1)
        )
