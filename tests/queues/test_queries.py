"""The C-2/C-3 figures computed by the database, on SQLite and PostgreSQL: each figure against a value
computed by hand (the arithmetic is in the comments) and against ``figures.summarize``/``grouped``
over the same facts, the reference definitions."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

import pytest

from callcore.calls import outcomes as oc
from callcore.calls.models import Call
from callcore.queues import figures as fg
from callcore.queues.figures import CallFacts, Figures
from callcore.queues.models import Agent, AgentEventRow
from callcore.queues.queries import SERVICE_LEVELS, CallFigures, call_figures
from callcore.store.db import Database

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
SINCE = T0 - timedelta(hours=10)  # 2026-03-02 00:00 in Beijing
UNTIL = SINCE + timedelta(days=2)  # 2026-03-04 00:00 in Beijing
NOW = T0 + timedelta(seconds=7500)  # the agents' open statuses run to here


def at(seconds: float | None) -> datetime | None:
    return None if seconds is None else T0 + timedelta(seconds=seconds)


def call(outcome: str, *, queue: str | None = "general", agent: str | None = None, arrived: float,
         entered: float | None = None, answered: float | None = None, ended: float, wrap: float = 0,
         talk_ended: float | None = None) -> CallFacts:
    arrived_at, ended_at = at(arrived), at(ended)
    assert arrived_at is not None and ended_at is not None
    return CallFacts(call_id=str(uuid.uuid4()), queue=queue, agent=agent, arrived_at=arrived_at,
                     queue_entered_at=at(entered), answered_at=at(answered), ended_at=ended_at,
                     wrap_up_seconds=wrap, outcome=outcome, talk_ended_at=at(talk_ended))


# Seconds from T0 (10:00 Beijing on 2 March).
# id outcome                 queue       agent arrived  entered  answered talk   end     wrap speed handle
# A  answered                general     1001  0        10       25       205    215     30   15    180+30 = 210
# B  answered                general     1002  60       80       110      -      230     30   30    120+30 = 150
# C  answered                complaints  1001  120      125      145      -      445     0    20    300+0  = 300
# D  abandoned_in_queue      general     -     200      210      -        -      250     -    wait 40
# E  lost_while_ringing      general     1002  300      305      -        -      317     -    wait 12
# F  short_abandon           general     -     400      410      -        -      413
# G  queue_timeout           general     -     500      505      -        -      1110
# H  left_by_choice (voice)  general     -     590      600      -        -      700
# O  left_by_choice (cb)     general     -     650      655      -        -      760
# I  lost_in_ivr             -           -     3700 (11:01)                      3720
# J  refused                 -           -     3800                              3801
# K  served_by_self_service  -           -     3900                              3990
# L  closed_by_system        -           -     4000                              4010
# M  answered                complaints  1002  50399.999 (23:59:59.999 on 2 March, Beijing)
#                                                       50400.499 50420.499 -    50480.499 10 20.000 60+10 = 70
# N  abandoned_in_queue      general     -     50400.000 (00:00:00.000 on 3 March, Beijing)
#                                                       50401    -        -      50431   -    wait 30
A = call(oc.ANSWERED, agent="1001", arrived=0, entered=10, answered=25, talk_ended=205, ended=215, wrap=30)
B = call(oc.ANSWERED, agent="1002", arrived=60, entered=80, answered=110, ended=230, wrap=30)
C = call(oc.ANSWERED, queue="complaints", agent="1001", arrived=120, entered=125, answered=145, ended=445)
D = call(oc.ABANDONED_IN_QUEUE, arrived=200, entered=210, ended=250)
E = call(oc.LOST_WHILE_RINGING, agent="1002", arrived=300, entered=305, ended=317)
F = call(oc.SHORT_ABANDON, arrived=400, entered=410, ended=413)
G = call(oc.QUEUE_TIMEOUT, arrived=500, entered=505, ended=1110)
H = call(oc.LEFT_BY_CHOICE, arrived=590, entered=600, ended=700)
O = call(oc.LEFT_BY_CHOICE, arrived=650, entered=655, ended=760)
I = call(oc.LOST_IN_IVR, queue=None, arrived=3700, ended=3720)  # noqa: E741
J = call(oc.REFUSED, queue=None, arrived=3800, ended=3801)
K = call(oc.SERVED_BY_SELF_SERVICE, queue=None, arrived=3900, ended=3990)
L = call(oc.CLOSED_BY_SYSTEM, queue=None, arrived=4000, ended=4010)
M = call(oc.ANSWERED, queue="complaints", agent="1002", arrived=50399.999, entered=50400.499, answered=50420.499,
         ended=50480.499, wrap=10)
N = call(oc.ABANDONED_IN_QUEUE, arrived=50400, entered=50401, ended=50431)
PERIOD = [A, B, C, D, E, F, G, H, O, I, J, K, L, M, N]
# Outside the period: one millisecond before it (23:59:59.999 on 1 March), exactly at its end.
BEFORE = call(oc.ANSWERED, agent="1001", arrived=-36000.001, entered=-36000, answered=-35990, ended=-35900)
AT_END = call(oc.ABANDONED_IN_QUEUE, arrived=136800, entered=136801, ended=136900)

# Agent events (seconds from T0; the status is the agent's status after the event). Available time
# within [SINCE, NOW), SINCE = T0 − 36000:
# 1001: available at −39600 (before the period), paused at −32400 → 3600 from SINCE on; available 0,
#       ringing 20 → 20; on_call 25, wrap_up 215, available 245, logged_out 1245 → 1000. Total 4620.
# 1002: available and paused in the same millisecond at 3600 (id order: available first) → 0; available
#       at 7200, nothing after it → runs to NOW = 7500 → 300. Total 300.
# 1003: available −50400, paused −48600 (both before the period: it opens paused); available 100,
#       logged_out 400 → 300. No calls. Total 300.
# 1004: available and logged out a month before: nothing in the period, no bucket.
AGENT_EVENTS: list[tuple[str, float, str]] = [
    ("1001", -39600, "available"), ("1001", -32400, "paused"), ("1001", 0, "available"), ("1001", 20, "ringing"),
    ("1001", 25, "on_call"), ("1001", 215, "wrap_up"), ("1001", 245, "available"), ("1001", 1245, "logged_out"),
    ("1002", 3600, "available"), ("1002", 3600, "paused"), ("1002", 7200, "available"),
    ("1003", -50400, "available"), ("1003", -48600, "paused"), ("1003", 100, "available"),
    ("1003", 400, "logged_out"),
    ("1004", -30 * 86400, "available"), ("1004", -29 * 86400, "logged_out"),
]
IDLE: dict[str | None, float] = {"1001": 4620.0, "1002": 300.0, "1003": 300.0}


async def store(db: Database, facts: Sequence[CallFacts], *, active: int = 0) -> None:
    """The calls as the journal leaves them when they end (plus ``active`` calls still in progress),
    and the agents with their events."""
    async with db.session() as s:
        for f in facts:
            s.add(Call(id=f.call_id, channel_id=f.call_id, status="ended", arrived_at=f.arrived_at,
                       answered_at=f.arrived_at, ended_at=f.ended_at, outcome=f.outcome,
                       loss_stage=oc.LOSS_STAGE.get(f.outcome), queue=f.queue, agent=f.agent,
                       queue_entered_at=f.queue_entered_at, agent_answered_at=f.answered_at,
                       talk_ended_at=f.talk_ended_at, wrap_up_seconds=f.wrap_up_seconds if f.answered_at else None,
                       attributes={}))
        for n in range(active):
            s.add(Call(id=f"active-{n}", channel_id=f"active-{n}", status="active", arrived_at=at(100 + n),
                       attributes={}))
        for number in ("1001", "1002", "1003", "1004"):
            s.add(Agent(id=f"agent-{number}", number=number))
        await s.flush()
        for i, (number, seconds, status) in enumerate(AGENT_EVENTS, start=1):
            s.add(AgentEventRow(id=i, agent_id=f"agent-{number}", at=at(seconds), event=status, status=status))
            await s.flush()  # ids in this order: the tie-break of events of the same millisecond


def assert_matches(row: CallFigures, expected: Figures, within: int) -> None:
    """The database's figures at one target equal the reference's (floats to rounding)."""
    got = dataclasses.asdict(row.at(within))
    for name, value in dataclasses.asdict(expected).items():
        if isinstance(value, float):
            assert got[name] == pytest.approx(value), (row.key, within, name)
        else:
            assert got[name] == value, (row.key, within, name)


def assert_reference(rows: Sequence[CallFigures], facts: Sequence[CallFacts], key: Callable[[CallFacts], str | None],
                     idle: Mapping[str | None, float] | None = None) -> None:
    """Every bucket equals ``figures.grouped`` over the same facts, at every target; a bucket without
    calls (an agent who only waited) equals ``figures.summarize`` of no calls with its idle time."""
    for t in SERVICE_LEVELS:
        expected = fg.grouped(facts, key, within=t, idle_seconds=idle)
        assert {r.key for r in rows if r.calls} == set(expected)
        for row in rows:
            assert idle is not None or row.key in expected
            reference = expected.get(row.key) or fg.summarize([], within=t, idle_seconds=(idle or {})[row.key])
            assert_matches(row, reference, t)


async def test_total_by_hand_and_by_the_reference(db: Database) -> None:
    await store(db, [*PERIOD, BEFORE, AT_END], active=2)
    [total] = await call_figures(db, SINCE, UNTIL, "total", now=NOW)
    assert total.key is None
    # 15 ended calls; BEFORE (one ms early), AT_END (at the end, excluded) and the 2 active ones are not counted.
    assert total.calls == 15
    assert total.offered == 11  # A–H, O, M, N entered a queue
    assert total.answered == 4  # A, B, C, M
    # D, E, N; F is a short abandon, G timed out, H (voicemail) and O (callback) left by choice.
    assert (total.abandoned, total.short_abandons) == (3, 1)
    assert total.abandonment_rate == pytest.approx(3 / 7)  # 3 ÷ (4 + 3)
    # Speeds A 15, B 30, C 20, M 20.000 (the limit is inclusive): ≤15 → 1, ≤20 → 3, ≤30 → 4, of 4.
    assert total.service_level == {15: pytest.approx(1 / 4), 20: pytest.approx(3 / 4), 30: 1.0}
    # Abandon waits D 40, E 12, N 30; late past 15: D, N; past 20: D, N; past 30: D (N's 30 is not past it).
    # 1 ÷ (4 + 2), 3 ÷ (4 + 2), 4 ÷ (4 + 1).
    assert total.service_level_with_abandons == {15: pytest.approx(1 / 6), 20: pytest.approx(0.5),
                                                 30: pytest.approx(0.8)}
    assert total.asa_from_queue == pytest.approx(21.25)  # (15 + 30 + 20 + 20) ÷ 4
    assert total.asa_from_arrival == pytest.approx(30.125)  # (25 + 50 + 25 + 20.5) ÷ 4
    assert total.average_handle_time == pytest.approx(182.5)  # (210 + 150 + 300 + 70) ÷ 4
    assert total.idle_seconds == pytest.approx(5220)  # 4620 + 300 + 300
    assert total.occupancy == pytest.approx(730 / 5950)  # 730 ÷ (730 + 5220)
    assert total.loss_by_stage == {"ivr": 1, "queue": 2, "ringing": 1, "refused": 1, "timeout": 1, "short": 1,
                                   "system": 1}  # I; D, N; E; J; G; F; L
    for t in SERVICE_LEVELS:
        assert_matches(total, fg.summarize(PERIOD, within=t, idle_seconds=5220), t)


async def test_by_hour_and_day_in_beijing_time(db: Database) -> None:
    await store(db, [*PERIOD, BEFORE, AT_END])
    hours = await call_figures(db, SINCE, UNTIL, "hour", now=NOW)
    # M arrived at 23:59:59.999 on 2 March, N at 00:00:00.000 on 3 March (Beijing): neighbouring buckets.
    assert [(r.key, r.calls) for r in hours] == [
        ("2026-03-02T10:00:00+08:00", 9), ("2026-03-02T11:00:00+08:00", 4),
        ("2026-03-02T23:00:00+08:00", 1), ("2026-03-03T00:00:00+08:00", 1)]
    ten = hours[0]  # A–H, O: answered A, B, C; abandoned D, E → 2 ÷ 5; speeds 15, 30, 20 → 2 of 3 within 20 s
    assert (ten.answered, ten.abandoned, ten.abandonment_rate) == (3, 2, pytest.approx(0.4))
    assert ten.service_level[20] == pytest.approx(2 / 3) and ten.occupancy is None
    assert hours[1].answered == 0 and hours[1].asa_from_queue is None and hours[1].abandonment_rate is None
    assert hours[2].service_level == {15: 0.0, 20: 1.0, 30: 1.0}  # M at exactly 20.000 s
    assert (hours[3].abandoned, hours[3].service_level_with_abandons[20]) == (1, 0.0)  # N waited 30 s: 0 ÷ (0 + 1)
    assert_reference(hours, PERIOD, lambda f: fg.by_hour()(f).isoformat())

    days = await call_figures(db, SINCE, UNTIL, "day", now=NOW)
    assert [(r.key, r.calls, r.answered, r.abandoned) for r in days] == [("2026-03-02", 14, 4, 2),
                                                                       ("2026-03-03", 1, 0, 1)]
    assert_reference(days, PERIOD, lambda f: fg.by_day()(f).isoformat())


async def test_by_queue(db: Database) -> None:
    await store(db, PERIOD)
    rows = await call_figures(db, SINCE, UNTIL, "queue", now=NOW)
    assert [(r.key, r.calls) for r in rows] == [("complaints", 2), ("general", 9), (None, 4)]
    complaints, general, none = rows
    assert complaints.average_handle_time == pytest.approx(185)  # C 300, M 70 → 370 ÷ 2
    # general: answered A, B; abandoned D, E, N → 3 ÷ 5; offered A, B, D–H, O, N = 9.
    assert (general.offered, general.abandonment_rate) == (9, pytest.approx(0.6))
    assert none.offered == 0 and none.loss_by_stage["ivr"] == 1 and none.occupancy is None
    assert_reference(rows, PERIOD, fg.by_queue)


async def test_by_agent_with_occupancy(db: Database) -> None:
    await store(db, PERIOD)
    rows = await call_figures(db, SINCE, UNTIL, "agent", now=NOW)
    assert [r.key for r in rows] == ["1001", "1002", "1003", None]
    a1001, a1002, a1003, none = rows
    # 1001: A 210 + C 300 = 510 handled, 4620 idle → 510 ÷ 5130.
    assert (a1001.answered, a1001.idle_seconds, a1001.occupancy) == (2, 4620, pytest.approx(510 / 5130))
    # 1002: B 150 + M 70 = 220 handled, 300 idle → 220 ÷ 520; E rang it and was lost: 1 ÷ (2 + 1).
    assert (a1002.answered, a1002.abandoned, a1002.occupancy) == (2, 1, pytest.approx(220 / 520))
    assert a1002.abandonment_rate == pytest.approx(1 / 3)
    # 1003 took no call and was available 300 s: occupancy 0, every count 0, every mean None.
    assert (a1003.calls, a1003.occupancy, a1003.idle_seconds, a1003.average_handle_time) == (0, 0.0, 300, None)
    assert none.idle_seconds is None and none.occupancy is None and none.calls == 10  # D F G H O I J K L N
    assert_reference(rows, PERIOD, fg.by_agent, IDLE)


async def test_idle_time_is_clipped_to_the_period(db: Database) -> None:
    """[T0, T0 + 1000 s) with the clock far past it: the open statuses end with the period."""
    await store(db, PERIOD)
    rows = await call_figures(db, T0, T0 + timedelta(seconds=1000), "agent", now=T0 + timedelta(days=30))
    # 1001 opens paused (its last event before T0), then available 0–20 and 245–1000 (logged out only at
    # 1245) → 20 + 755 = 775. 1002 has no event before 1000 s: no idle time, so its B (150 s handled)
    # makes it 150 ÷ (150 + 0) = 1. 1003 opens paused, available 100–400 → 300.
    idle = {r.key: r.idle_seconds for r in rows}
    assert idle == {"1001": 775, "1002": 0.0, "1003": 300, None: None}
    occupancy = {r.key: r.occupancy for r in rows}
    assert occupancy == {"1001": pytest.approx(510 / 1285), "1002": 1.0, "1003": 0.0, None: None}
    assert_reference(rows, [A, B, C, D, E, F, G, H, O], fg.by_agent, {"1001": 775, "1002": 0.0, "1003": 300})
    [total] = await call_figures(db, T0, T0 + timedelta(seconds=1000), now=T0 + timedelta(days=30))
    assert total.occupancy == pytest.approx(660 / 1735)  # (210 + 150 + 300) ÷ (660 + 775 + 300)


async def test_no_calls(db: Database) -> None:
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)
    [total] = await call_figures(db, since, since + timedelta(days=1), "total", now=NOW)
    assert (total.calls, total.offered, total.answered, total.abandoned, total.short_abandons) == (0, 0, 0, 0, 0)
    assert total.abandonment_rate is None and total.asa_from_queue is None and total.asa_from_arrival is None
    assert total.service_level == {15: None, 20: None, 30: None} == total.service_level_with_abandons
    assert total.average_handle_time is None and total.occupancy is None and total.idle_seconds == 0
    assert total.loss_by_stage == dict.fromkeys(("ivr", "queue", "ringing", "refused", "timeout", "short", "system"), 0)
    assert total.at(20) == fg.summarize([], idle_seconds=0.0)
    for by in ("hour", "day", "queue", "agent"):
        assert await call_figures(db, since, since + timedelta(days=1), by, now=NOW) == []


async def test_rejects_a_bad_bucket_or_period(db: Database) -> None:
    with pytest.raises(ValueError, match="by must be one of"):
        await call_figures(db, SINCE, UNTIL, "week")
    with pytest.raises(ValueError, match="until must be after since"):
        await call_figures(db, UNTIL, SINCE)
