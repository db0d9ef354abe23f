"""The C-2/C-3 figures computed by the database, per local hour, local day, queue, agent or in total.

``figures.py`` is the definition; this is the same arithmetic as aggregates over the ``calls``
table, so a report over a month of calls reads a handful of rows instead of loading every call.
The tests hold the two equal on SQLite and PostgreSQL.

Which calls: the inbound ones (not those the hotline placed) that arrived in ``[since, until)`` and have an outcome (an ended call; one still
in progress has none yet and is counted when it ends). Each call counts in the bucket of its
arrival, whole: a call that arrives at 10:59 and is answered at 11:01 is a 10:00 call, as in
``figures.by_hour``. ``answered_at`` of the definitions is the ``agent_answered_at`` column (the
agent picked up), not ``calls.answered_at`` (the daemon answered the channel).

The post-call survey's ratings (T-14) are read from the calls' timelines (``survey_rated`` events of
inbound surveys): how many calls of the bucket were rated and their average key (1 very satisfied
… 4 unsatisfied, so lower is better); per agent these are the agent's ratings.

Occupancy needs the agents' idle time (status ``available`` in ``agent_events``), which belongs
to agents and not to queues, so it is given per agent and in total and left None per hour, day or
queue. Idle time is clipped to the period; the handle time it is set against is that of the calls
of the period, as in ``figures.occupancy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (ColumnElement, Float, RowMapping, ScalarSelect, SQLColumnExpression, Subquery, and_, case, cast,
                        extract, func, literal, literal_column, null, select, union_all)
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.calls import events as ev
from callcore.calls import outcomes as oc
from callcore.calls.models import Call, CallEvent
from callcore.queues.agents import AVAILABLE, CHINA
from callcore.queues.figures import ABANDONED_KINDS, Figures
from callcore.queues.models import Agent, AgentEventRow
from callcore.store.base import UTCDateTime, utcnow
from callcore.store.db import Database

BUCKETS: Final = ("hour", "day", "queue", "agent", "total")
# The service-level targets reported side by side: 20 s is C-3's default, 15 and 30 s the common
# alternatives a supervisor compares it with.
SERVICE_LEVELS: Final = (15, 20, 30)

# Beijing time is UTC+8 all year (no daylight saving since 1991): one fixed offset, applied the
# same way by both databases, so a bucket never depends on the server's time-zone database.
_OFFSET_SECONDS = int(CHINA.utcoffset(None).total_seconds())
_ISO_OFFSET = "{}{:02d}:{:02d}".format("+" if _OFFSET_SECONDS >= 0 else "-", *divmod(abs(_OFFSET_SECONDS) // 60, 60))


@dataclass(frozen=True, kw_only=True)
class CallFigures:
    """The figures of one bucket. ``key``: the local hour (``2026-03-02T10:00:00+08:00``), the local
    day (``2026-03-02``), the queue name or the agent number; None for the total, and for the calls
    that reached no queue (by queue) or no agent (by agent). ``service_level`` and
    ``service_level_with_abandons`` are keyed by the target in seconds. ``calls`` counts every
    call of the bucket, ``idle_seconds`` is the idle time occupancy was computed with."""

    key: str | None
    calls: int
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    abandonment_rate: float | None
    service_level: dict[int, float | None]
    service_level_with_abandons: dict[int, float | None]
    asa_from_queue: float | None
    asa_from_arrival: float | None
    average_handle_time: float | None
    occupancy: float | None
    idle_seconds: float | None
    loss_by_stage: dict[str, int]
    # T-14: the bucket's calls rated in the post-call survey, and their mean key (1 best … 4 worst).
    ratings: int = 0
    average_rating: float | None = None

    def at(self, within: int) -> Figures:
        """The figures in the reference's shape at one service-level target."""
        return Figures(
            offered=self.offered, answered=self.answered, abandoned=self.abandoned,
            short_abandons=self.short_abandons, abandonment_rate=self.abandonment_rate,
            service_level=self.service_level[within],
            service_level_with_abandons=self.service_level_with_abandons[within],
            asa_from_queue=self.asa_from_queue, asa_from_arrival=self.asa_from_arrival,
            average_handle_time=self.average_handle_time, occupancy=self.occupancy,
            loss_by_stage=dict(self.loss_by_stage),
        )


def _seconds(dialect: str, end: SQLColumnExpression[Any], start: SQLColumnExpression[Any]) -> ColumnElement[float]:
    """``end − start`` in seconds. SQLite has no interval type: julianday is a float of days whose
    last bits are ~50 µs at today's dates, so the difference is rounded to the millisecond, the
    precision times are stored with (C-1); without it a 20.000 s answer could read 20.00004 and miss
    the 20 s target."""
    if dialect == "sqlite":
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)
    return cast(extract("epoch", end - start), Float)


def _local_bucket(by: str, dialect: str) -> ColumnElement[str]:
    """The local hour or day of arrival as its ISO text, which also sorts in time order."""
    at = Call.arrived_at
    if dialect == "sqlite":
        fmt = f"%Y-%m-%dT%H:00:00{_ISO_OFFSET}" if by == "hour" else "%Y-%m-%d"
        return func.strftime(fmt, at, f"{_OFFSET_SECONDS:+d} seconds")
    # An interval as the zone is a fixed offset, east positive (unlike POSIX zone names such as 'UTC-8').
    local = at.op("AT TIME ZONE")(literal_column(f"INTERVAL '{_OFFSET_SECONDS} seconds'"))
    pg_fmt = f'YYYY-MM-DD"T"HH24":00:00{_ISO_OFFSET}"' if by == "hour" else "YYYY-MM-DD"
    return func.to_char(local, pg_fmt)


def _rating() -> ScalarSelect[Any]:
    """The key the caller gave in the inbound post-call survey of the call (None: not rated)."""
    e = CallEvent
    return (select(func.max(e.data["rating"].as_integer()))
            .where(e.call_id == Call.id, e.type == ev.SURVEY_RATED, e.data["kind"].as_string() == "inbound")
            .correlate(Call).scalar_subquery())


def _per_call(by: str, dialect: str, since: datetime, until: datetime) -> Subquery:
    """One row per counted call with what the aggregates need of it, already in seconds."""
    c = Call
    waiting_since = func.coalesce(c.queue_entered_at, c.arrived_at)
    bucket: SQLColumnExpression[Any]
    if by in ("hour", "day"):
        bucket = _local_bucket(by, dialect)
    elif by == "queue":
        bucket = c.queue
    elif by == "agent":
        bucket = c.agent
    else:
        bucket = null()
    return (select(
        bucket.label("bucket"),
        c.outcome,
        c.queue_entered_at,
        _seconds(dialect, c.agent_answered_at, waiting_since).label("speed"),
        _seconds(dialect, c.agent_answered_at, c.arrived_at).label("from_arrival"),
        _seconds(dialect, c.ended_at, waiting_since).label("wait"),
        (_seconds(dialect, func.coalesce(c.talk_ended_at, c.ended_at), c.agent_answered_at)
         + func.coalesce(c.wrap_up_seconds, 0.0)).label("handle"),
        _rating().label("rating"),
    ).where(c.arrived_at >= since, c.arrived_at < until, c.outcome.is_not(None),
            c.direction == "inbound").subquery())


def _count(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _aggregates(calls: Subquery, within: Sequence[int]) -> list[ColumnElement[Any]]:
    s = calls.c
    answered = s.outcome == oc.ANSWERED
    abandoned = s.outcome.in_(sorted(ABANDONED_KINDS))
    return [
        func.count().label("calls"),
        _count(s.queue_entered_at.is_not(None)).label("offered"),
        _count(answered).label("answered"),
        _count(abandoned).label("abandoned"),
        _count(s.outcome == oc.SHORT_ABANDON).label("short_abandons"),
        func.avg(case((answered, s.speed))).label("asa_from_queue"),
        func.avg(case((answered, s.from_arrival))).label("asa_from_arrival"),
        func.avg(case((answered, s.handle))).label("average_handle_time"),
        func.coalesce(func.sum(case((answered, s.handle))), 0.0).label("handle"),
        *(_count(and_(answered, s.speed <= t)).label(f"in_time_{i}") for i, t in enumerate(within)),
        *(_count(and_(abandoned, s.wait > t)).label(f"late_{i}") for i, t in enumerate(within)),
        *(_count(s.outcome == kind).label(f"lost_{kind}") for kind in oc.LOSS_STAGE),
        func.count(s.rating).label("ratings"),
        func.avg(s.rating).label("average_rating"),
    ]


async def _idle_by_agent(s: AsyncSession, dialect: str, since: datetime, until: datetime,
                         now: datetime) -> dict[str, float]:
    """Seconds each agent (by number) spent ``available`` within ``[since, min(now, until))``.

    An agent's status holds from one event to the next (LEAD over the agent's events by time,
    then id for events of the same millisecond); the last one holds until now. Only the events of
    the period are read, plus each agent's last event before it: the status the period opens with."""
    e = AgentEventRow
    last_before = (select(e.agent_id, func.max(e.at).label("at")).where(e.at < since)
                   .group_by(e.agent_id).subquery())
    events = union_all(
        select(e.id, e.agent_id, e.at, e.status).where(e.at >= since, e.at < until),
        select(e.id, e.agent_id, e.at, e.status)
        .join(last_before, and_(last_before.c.agent_id == e.agent_id, last_before.c.at == e.at)),
    ).subquery()
    spans = select(
        events.c.agent_id, events.c.status, events.c.at.label("start"),
        func.lead(events.c.at, type_=UTCDateTime()).over(
            partition_by=events.c.agent_id, order_by=(events.c.at, events.c.id)).label("end"),
    ).subquery()
    t = spans.c
    since_ = literal(since, UTCDateTime())
    cap = literal(min(now, until), UTCDateTime())
    start = case((t.start < since_, since_), else_=t.start)
    end = case((t.end.is_(None), cap), (t.end > cap, cap), else_=t.end)
    q = (select(Agent.number, func.sum(_seconds(dialect, end, start)))
         .join_from(spans, Agent, Agent.id == t.agent_id)
         .where(t.status == AVAILABLE, end > start)
         .group_by(Agent.number))
    return {number: float(idle or 0) for number, idle in await s.execute(q)}


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _figures(key: str | None, row: RowMapping | None, within: Sequence[int],
             idle: float | None) -> CallFigures:
    """A bucket from its aggregate row (None: no call in it); rates are divided here, once."""
    def n(name: str) -> int:
        return int(row[name] or 0) if row is not None else 0

    def mean(name: str) -> float | None:
        return _float(row[name]) if row is not None else None

    answered, abandoned = n("answered"), n("abandoned")
    handle = float(row["handle"] or 0) if row is not None else 0.0
    stages = dict.fromkeys(oc.LOSS_STAGE.values(), 0)
    for kind, stage in oc.LOSS_STAGE.items():
        stages[stage] += n(f"lost_{kind}")
    return CallFigures(
        key=key, calls=n("calls"), offered=n("offered"), answered=answered, abandoned=abandoned,
        short_abandons=n("short_abandons"), abandonment_rate=_ratio(abandoned, answered + abandoned),
        service_level={t: _ratio(n(f"in_time_{i}"), answered) for i, t in enumerate(within)},
        service_level_with_abandons={t: _ratio(n(f"in_time_{i}"), answered + n(f"late_{i}"))
                                     for i, t in enumerate(within)},
        asa_from_queue=mean("asa_from_queue"), asa_from_arrival=mean("asa_from_arrival"),
        average_handle_time=mean("average_handle_time"),
        occupancy=None if idle is None else _ratio(handle, handle + idle), idle_seconds=idle,
        loss_by_stage=stages,
        ratings=n("ratings"), average_rating=mean("average_rating"),
    )


def _in_key_order(key: str | None) -> tuple[bool, str]:
    return key is None, key or ""


async def call_figures(db: Database, since: datetime, until: datetime, by: str = "total", *,
                       within: Sequence[int] = SERVICE_LEVELS, now: datetime | None = None) -> list[CallFigures]:
    """The figures of the calls that arrived in ``[since, until)``, one ``CallFigures`` per bucket
    in key order (the bucket of no queue or no agent last).

    ``by="total"`` always gives exactly one bucket, zeros and None rates when there was no call;
    the other groupings give the buckets that had calls, and by agent also every agent who was
    available in the period without taking a call (occupancy 0). ``now`` ends the idle time of
    agents still available (default: the clock)."""
    if by not in BUCKETS:
        raise ValueError(f"by must be one of {', '.join(BUCKETS)}")
    if until <= since:
        raise ValueError("until must be after since")
    now = now or utcnow()
    calls = _per_call(by, db.dialect, since, until)
    q = select(*_aggregates(calls, within))
    if by != "total":
        q = q.add_columns(calls.c.bucket).group_by(calls.c.bucket)
    async with db.session() as s:
        rows: dict[str | None, RowMapping] = {
            (r["bucket"] if by != "total" else None): r for r in (await s.execute(q)).mappings()}
        idle = await _idle_by_agent(s, db.dialect, since, until, now) if by in ("agent", "total") else {}
    if by == "total":
        return [_figures(None, rows.get(None), within, sum(idle.values(), 0.0))]
    if by == "agent":
        # An agent number's bucket is occupancy over its own idle time (0 if it was never available);
        # calls that reached no agent have no idle time to set against.
        keys = sorted(rows.keys() | idle.keys(), key=_in_key_order)
        return [_figures(k, rows.get(k), within, None if k is None else idle.get(k, 0.0)) for k in keys]
    return [_figures(k, rows[k], within, None) for k in sorted(rows, key=_in_key_order)]
