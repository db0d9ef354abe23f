"""The C-2/C-3 figures on a small day computed by hand (the computations are in the comments)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from callcore.calls import events as ev
from callcore.calls import outcomes as oc
from callcore.calls.outcomes import TimelineEvent, classify
from callcore.queues import figures as fg
from callcore.queues.figures import CallFacts

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


def s(seconds: float | None) -> datetime | None:
    return None if seconds is None else T0 + timedelta(seconds=seconds)


def call(call_id: str, outcome: str, *, queue: str | None = "general", agent: str | None = None, arrived: float,
         entered: float | None = None, answered: float | None = None, ended: float, wrap: float = 0,
         talk_ended: float | None = None) -> CallFacts:
    arrived_at, ended_at = s(arrived), s(ended)
    assert arrived_at is not None and ended_at is not None
    return CallFacts(call_id=call_id, queue=queue, agent=agent, arrived_at=arrived_at, queue_entered_at=s(entered),
                     answered_at=s(answered), ended_at=ended_at, wrap_up_seconds=wrap, outcome=outcome,
                     talk_ended_at=s(talk_ended))


# id  outcome               queue       agent  arrived entered answered talk end  wrap  speed  handle
# A   answered              general     1001   0       10      25       205  215  30    15     180+30 = 210
# B   answered              general     1002   60      80      110      -    230  30    30     120+30 = 150
# C   answered              complaints  1001   120     125     145      -    445  0     20     300+0  = 300
# D   abandoned_in_queue    general     -      200     210     -        -    250  -     wait 40
# E   lost_while_ringing    general     1002   300     305     -        -    317  -     wait 12
# F   short_abandon         general     -      400     410     -        -    413
# G   queue_timeout         general     -      500     505     -        -    1110
# H   left_by_choice        general     -      590     600     -        -    700
# I   lost_in_ivr           -           -      3700 (11:01 Beijing)          3720
# J   refused               -           -      3800                          3801
# K   served_by_self_service -          -      3900                          3990
# L   closed_by_system      -           -      4000                          4010
DAY = [
    call("A", oc.ANSWERED, agent="1001", arrived=0, entered=10, answered=25, talk_ended=205, ended=215, wrap=30),
    call("B", oc.ANSWERED, agent="1002", arrived=60, entered=80, answered=110, ended=230, wrap=30),
    call("C", oc.ANSWERED, queue="complaints", agent="1001", arrived=120, entered=125, answered=145, ended=445),
    call("D", oc.ABANDONED_IN_QUEUE, arrived=200, entered=210, ended=250),
    call("E", oc.LOST_WHILE_RINGING, agent="1002", arrived=300, entered=305, ended=317),
    call("F", oc.SHORT_ABANDON, arrived=400, entered=410, ended=413),
    call("G", oc.QUEUE_TIMEOUT, arrived=500, entered=505, ended=1110),
    call("H", oc.LEFT_BY_CHOICE, arrived=590, entered=600, ended=700),
    call("I", oc.LOST_IN_IVR, queue=None, arrived=3700, ended=3720),
    call("J", oc.REFUSED, queue=None, arrived=3800, ended=3801),
    call("K", oc.SERVED_BY_SELF_SERVICE, queue=None, arrived=3900, ended=3990),
    call("L", oc.CLOSED_BY_SYSTEM, queue=None, arrived=4000, ended=4010),
]


def test_counts() -> None:
    assert fg.offered(DAY) == 8  # A to H entered a queue
    assert fg.answered(DAY) == 3  # A, B, C
    assert fg.abandoned(DAY) == 2  # D, E (F is short, G timed out, H chose voicemail)
    assert fg.short_abandons(DAY) == 1  # F


def test_abandonment_rate() -> None:
    # abandoned ÷ (answered + abandoned) = 2 ÷ (3 + 2) = 0.4; F, G, H in neither part.
    assert fg.abandonment_rate(DAY) == pytest.approx(0.4)


def test_service_level_both_forms() -> None:
    # Answered within 20 s: A (15), C (20, the limit is inclusive); B (30) is late → 2 ÷ 3.
    assert fg.service_level(DAY, 20) == pytest.approx(2 / 3)
    # Abandoned after 20 s: D (40); E (12) left within the target → 2 ÷ (3 + 1) = 0.5.
    assert fg.service_level_with_abandons(DAY, 20) == pytest.approx(0.5)
    # At 10 s nobody is answered in time: 0 ÷ 3, and 0 ÷ (3 + 2) with D and E both late.
    assert fg.service_level(DAY, 10) == 0 and fg.service_level_with_abandons(DAY, 10) == 0


def test_average_speed_of_answer() -> None:
    # From queue entry: (15 + 30 + 20) ÷ 3 = 21.67 s. From arrival: (25 + 50 + 25) ÷ 3 = 33.33 s.
    assert fg.asa_from_queue(DAY) == pytest.approx(65 / 3)
    assert fg.asa_from_arrival(DAY) == pytest.approx(100 / 3)


def test_average_handle_time_includes_wrap_up_but_not_the_survey() -> None:
    # A: 205 − 25 + 30 = 210 (the survey from 205 to 215 is not handled by the agent);
    # B: 230 − 110 + 30 = 150; C: 445 − 145 = 300 → (210 + 150 + 300) ÷ 3 = 220 s.
    assert fg.average_handle_time(DAY) == pytest.approx(220)


def test_occupancy() -> None:
    # Handle 660 s, idle 340 s → 660 ÷ (660 + 340) = 0.66.
    assert fg.occupancy(DAY, 340) == pytest.approx(0.66)
    assert fg.occupancy([], 0) is None


def test_loss_by_stage() -> None:
    assert fg.loss_by_stage(DAY) == {"ivr": 1, "queue": 1, "ringing": 1, "refused": 1, "timeout": 1, "short": 1,
                                     "system": 1}
    assert fg.loss_by_stage([]) == dict.fromkeys(("ivr", "queue", "ringing", "refused", "timeout", "short", "system"),
                                                 0)


def test_empty_denominators_are_none_not_zero() -> None:
    f = fg.summarize([])
    assert (f.offered, f.answered, f.abandonment_rate, f.service_level, f.asa_from_queue, f.average_handle_time,
            f.occupancy) == (0, 0, None, None, None, None, None)


def test_summary() -> None:
    f = fg.summarize(DAY, within=20, idle_seconds=340)
    assert (f.offered, f.answered, f.abandoned, f.short_abandons) == (8, 3, 2, 1)
    assert f.abandonment_rate == pytest.approx(0.4) and f.occupancy == pytest.approx(0.66)


def test_per_queue() -> None:
    per = fg.grouped(DAY, fg.by_queue)
    assert list(per) == ["general", "complaints", None]
    # general: A, B, D, E, F, G, H offered; answered A, B; abandoned D, E → 2 ÷ (2 + 2) = 0.5.
    general = per["general"]
    assert (general.offered, general.answered, general.abandoned) == (7, 2, 2)
    assert general.abandonment_rate == pytest.approx(0.5)
    # A (15 s) in time, B (30 s) late: 1 ÷ 2; D late abandon: 1 ÷ (2 + 1).
    assert general.service_level == pytest.approx(0.5)
    assert general.service_level_with_abandons == pytest.approx(1 / 3)
    assert (per["complaints"].offered, per["complaints"].answered, per["complaints"].service_level) == (1, 1, 1.0)
    assert per[None].offered == 0 and per[None].loss_by_stage["ivr"] == 1


def test_per_agent_with_idle_time() -> None:
    idle: dict[str | None, float] = {"1001": 490}  # the keys are by_agent's: str | None
    per = fg.grouped(DAY, fg.by_agent, idle_seconds=idle)
    # 1001 answered A (210) and C (300): AHT 255 s; occupancy 510 ÷ (510 + 490) = 0.51.
    assert per["1001"].average_handle_time == pytest.approx(255)
    assert per["1001"].occupancy == pytest.approx(0.51)
    # 1002 answered B and E was lost while 1002's phone rang: 1 ÷ (1 + 1).
    assert per["1002"].abandonment_rate == pytest.approx(0.5) and per["1002"].occupancy is None


def test_per_hour_and_day_in_local_time() -> None:
    china = timezone(timedelta(hours=8))
    per_hour = fg.grouped(DAY, fg.by_hour())
    assert {k: v.offered for k, v in per_hour.items()} == {
        datetime(2026, 3, 2, 10, tzinfo=china): 8, datetime(2026, 3, 2, 11, tzinfo=china): 0}
    assert sum(v.loss_by_stage["ivr"] for v in per_hour.values()) == 1
    # 15:59 UTC is 23:59 in Beijing; 16:00 UTC is the next day there.
    late = [call("x", oc.LOST_IN_IVR, queue=None, arrived=13 * 3600 + 3540, ended=13 * 3600 + 3550),
            call("y", oc.LOST_IN_IVR, queue=None, arrived=14 * 3600, ended=14 * 3600 + 5)]
    assert list(fg.grouped(late, fg.by_day())) == [date(2026, 3, 2), date(2026, 3, 3)]
    assert list(fg.grouped(late, fg.by_day(timezone.utc))) == [date(2026, 3, 2)]


def test_facts_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        call("x", "lost", arrived=0, ended=1)
    with pytest.raises(ValueError, match="answered_at"):
        call("x", oc.ANSWERED, arrived=0, ended=1)
    with pytest.raises(ValueError, match="answered_at"):
        call("x", oc.ABANDONED_IN_QUEUE, arrived=0, entered=0, answered=1, ended=1)
    with pytest.raises(ValueError, match="wrap_up"):
        call("x", oc.ANSWERED, arrived=0, answered=1, ended=2, wrap=-1)


def test_facts_from_a_classified_timeline_are_the_ones_counted_by_hand() -> None:
    # Call A of the day, as the daemon emits it: the figures read the classifier's outcome.
    def e(at: float, type_: str, **data: object) -> TimelineEvent:
        moment = s(at)
        assert moment is not None
        return TimelineEvent(type_, moment, data)

    timeline = [e(0, ev.ARRIVED), e(10, ev.QUEUE_ENTERED, queue="general", position=1),
                e(20, ev.AGENT_RINGING, queue="general", agent="1001"),
                e(25, ev.AGENT_RING_ENDED, queue="general", agent="1001", reason=ev.RING_ANSWERED),
                e(25, ev.AGENT_ANSWERED, queue="general", agent="1001"), e(27, ev.TALK_STARTED, agent="1001"),
                e(205, ev.TALK_ENDED, agent="1001", by="caller", wrap_up=30), e(215, ev.ENDED, by="caller")]
    arrived_at, ended_at = s(0), s(215)
    assert arrived_at is not None and ended_at is not None
    facts = CallFacts.of(classify(timeline), arrived_at=arrived_at, ended_at=ended_at, call_id="A")
    assert facts == DAY[0]
    assert fg.handle_seconds(facts) == 210
