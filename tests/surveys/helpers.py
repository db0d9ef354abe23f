"""Calls and tickets in the test store, as the journal and the ticket service write them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from callcore.calls import events as ev
from callcore.calls import outcomes as oc
from callcore.calls.models import Call, CallEvent
from callcore.core.identity import Principal
from callcore.store.db import Database

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
AGENT = Principal(user_id="u-agent", name="接线员", role="agent")
SUPERVISOR = Principal(user_id="u-sup", name="督办员", role="supervisor")


async def add_call(db: Database, call_id: str, *, caller: str = "13960001111", agent: str | None = "6001",
                   at: datetime = T0, rating: int | None = None, kind: str = "inbound") -> None:
    """An answered call of the general queue, ended; with ``rating`` its ``survey_rated`` event."""
    async with db.session() as s:
        s.add(Call(id=call_id, channel_id=call_id, caller_number=caller, status="ended", arrived_at=at,
                   ended_at=at + timedelta(seconds=90), outcome=oc.ANSWERED, queue="general", agent=agent,
                   queue_entered_at=at + timedelta(seconds=5), agent_answered_at=at + timedelta(seconds=10),
                   attributes={}))
        if rating is not None:
            data: dict[str, Any] = {"rating": rating, "satisfaction": "x", "attempt": 1, "kind": kind}
            if agent:
                data["agent"] = agent
            s.add(CallEvent(id=f"{call_id}-s", call_id=call_id, seq=9, at=at + timedelta(seconds=80),
                            type=ev.SURVEY_RATED, data=data))
