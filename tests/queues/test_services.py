"""The dispatcher (``QueueService``) with a fake ARI: who rings, in what order, and what each ring's
end does to the agent; the real Asterisk journeys are in tests/e2e/test_queues.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from callcore.calls import events as ev
from callcore.core.bus import EventBus
from callcore.core.errors import Conflict
from callcore.queues import agents as ag
from callcore.queues.models import Agent
from callcore.queues.services import QueueService, device_events
from callcore.queues.settings import QueueSettings
from callcore.queues.strategies import Member
from callcore.queues.waiting import WaitingCaller
from callcore.store.base import utcnow
from callcore.store.db import Database


class FakeAri:
    app = "callcore"

    def __init__(self) -> None:
        self.originated: list[dict[str, Any]] = []
        self.hung_up: list[str] = []
        self.refuse: Exception | None = None

    async def originate(self, endpoint: str, **kw: Any) -> None:
        self.originated.append({"endpoint": endpoint, **kw})
        if self.refuse is not None:
            raise self.refuse

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hung_up.append(channel_id)

    def rung(self) -> list[str]:
        return [o["endpoint"].removeprefix("PJSIP/") for o in self.originated]


class FakeStasis:
    def __init__(self) -> None:
        self.claims: dict[str, Any] = {}

    def claim(self, channel_id: str, handler: Any) -> None:
        self.claims[channel_id] = handler

    def release(self, channel_id: str) -> None:
        self.claims.pop(channel_id, None)


@dataclass
class FakeSession:
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    channel_id: str = field(default_factory=lambda: f"chan-{uuid.uuid4()}")
    caller_number: str = "13800138000"
    caller_name: str = ""
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def event(self, type_: str, **data: Any) -> None:
        self.events.append((type_, data))

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == type_]


class Catalog:
    def __init__(self, *queues: QueueSettings) -> None:
        self.queues = list(queues)

    def all(self) -> list[QueueSettings]:
        return self.queues


def general(strategy: str = "linear", members: tuple[str, ...] = ("1001", "1002"), **kw: Any) -> QueueSettings:
    return QueueSettings(name="general", display_name="综合服务", strategy=strategy, ring_timeout=15,
                         members=tuple(Member(agent_id=a, order=i) for i, a in enumerate(members)), **kw)


@pytest.fixture
async def service(db: Database) -> AsyncIterator[tuple[QueueService, FakeAri, FakeStasis]]:
    async with db.session() as s:
        for number in ("1001", "1002", "1003"):
            s.add(Agent(id=str(uuid.uuid4()), number=number, name=f"坐席{number}", sip_md5="0" * 32))
        await s.commit()
    ari, stasis = FakeAri(), FakeStasis()
    svc = QueueService(ari=ari, stasis=stasis, db=db, bus=EventBus(), queues=Catalog(general()))  # type: ignore[arg-type]
    await svc.load()
    writer = asyncio.ensure_future(svc.writer.run())
    yield svc, ari, stasis
    await svc.close()
    writer.cancel()


def ready(svc: QueueService, *numbers: str) -> None:
    for n in numbers:
        svc.on_device_state(f"PJSIP/{n}", "NOT_INUSE")
        svc.login(n)


def enter(svc: QueueService, *, priority: int = 0, queue: str = "general", ago: float = 0.0) -> tuple[FakeSession, Any]:
    session = FakeSession()
    caller = WaitingCaller(call_id=session.call_id, queue=queue, entered_at=utcnow() - timedelta(seconds=ago),
                           seq=svc.next_seq(), priority=priority)
    settings = svc.settings(queue)
    assert settings is not None
    waiter = svc.enter(session, settings, caller, None)  # type: ignore[arg-type]
    return session, waiter


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def agent_event(stasis: FakeStasis, ari: FakeAri, agent: str, event: dict[str, Any]) -> None:
    channel_id = next(o["channel_id"] for o in reversed(ari.originated) if o["endpoint"] == f"PJSIP/{agent}")
    stasis.claims[channel_id]({"channel": {"id": channel_id}, **event})


async def test_a_caller_rings_the_first_free_agent_with_its_number_and_a_screen_pop(service: Any) -> None:
    svc, ari, _ = service
    ready(svc, "1001", "1002")
    async with svc.bus.subscribe("agent:1001") as sub:
        session, _ = enter(svc)
        await settle()
        assert ari.rung() == ["1001"]
        dial = ari.originated[0]
        assert dial["app_args"] == f"agent,{session.call_id}" and "<13800138000>" in dial["caller_id"]
        assert svc.agents["1001"].status == ag.RINGING
        pops = []
        while not pops:
            item = await asyncio.wait_for(sub.get(), 1)
            if item.get("kind") == "screen_pop":
                pops.append(item)
    assert pops and pops[0]["agent"] == "1001" and pops[0]["call_id"] == session.call_id
    assert session.of(ev.AGENT_RINGING) == [{"queue": "general", "agent": "1001", "attempt": 1,
                                             "channel_id": dial["channel_id"]}]


async def test_ring_no_answer_moves_on_and_counts_against_the_agent(service: Any) -> None:
    svc, ari, stasis = service
    ready(svc, "1001", "1002")
    session, _ = enter(svc)
    await settle()
    agent_event(stasis, ari, "1001", {"type": "ChannelDestroyed", "cause": 19, "cause_txt": "No answer"})
    await settle()
    assert ari.rung() == ["1001", "1002"]
    assert svc.agents["1001"].missed_in_row == 1 and svc.agents["1001"].status == ag.AVAILABLE
    assert session.of(ev.AGENT_RING_ENDED)[0] == {"queue": "general", "agent": "1001", "reason": ev.RING_NO_ANSWER,
                                                  "cause": 19}


async def test_paused_logged_out_unregistered_and_busy_agents_are_never_rung(service: Any) -> None:
    svc, ari, _ = service
    svc.queues.queues = [general(members=("1001", "1002", "1003"))]
    ready(svc, "1001", "1002")
    svc.pause("1001", "培训")
    svc.on_device_state("PJSIP/1002", "UNAVAILABLE")  # phone unregistered
    svc.on_device_state("PJSIP/1003", "NOT_INUSE")  # registered, never logged in
    enter(svc)
    await settle()
    assert ari.rung() == []
    svc.on_device_state("PJSIP/1002", "NOT_INUSE")
    svc.on_device_state("PJSIP/1002", "INUSE")  # a private call: busy outside the queue
    await settle()
    assert ari.rung() == []
    svc.on_device_state("PJSIP/1002", "NOT_INUSE")
    await settle()
    assert ari.rung() == ["1002"]


async def test_a_higher_priority_caller_is_served_first(service: Any) -> None:
    svc, ari, _ = service
    first, _ = enter(svc, ago=30)
    urgent, _ = enter(svc, priority=10)
    ready(svc, "1001")
    await settle()
    assert [o["app_args"] for o in ari.originated] == [f"agent,{urgent.call_id}"]
    assert svc.position(svc.waiting[urgent.call_id]) == 1 and svc.position(svc.waiting[first.call_id]) == 2


async def test_answer_connects_and_ringall_cancels_the_other_phones(service: Any) -> None:
    svc, ari, stasis = service
    svc.queues.queues = [general(strategy="ringall")]
    ready(svc, "1001", "1002")
    session, waiter = enter(svc)
    await settle()
    assert sorted(ari.rung()) == ["1001", "1002"]
    agent_event(stasis, ari, "1002", {"type": "StasisStart", "args": ["agent", session.call_id]})
    await settle()
    ring = waiter.answered.result()
    assert ring.agent == "1002" and svc.agents["1002"].status == ag.ON_CALL
    svc.leave(waiter, ev.LEFT_ANSWERED)
    await settle()
    other = next(o["channel_id"] for o in ari.originated if o["endpoint"] == "PJSIP/1001")
    assert other in ari.hung_up and svc.agents["1001"].status == ag.AVAILABLE
    assert svc.agents["1001"].missed_in_row == 0  # cancelled, not missed
    svc.agent_leg_done(ring, talked=True, wrap_up=30)
    assert svc.agents["1002"].status == ag.WRAP_UP
    assert svc.ready("1002").status == ag.AVAILABLE


async def test_a_caller_who_hangs_up_while_a_phone_rings_cancels_it_without_blame(service: Any) -> None:
    svc, ari, _ = service
    ready(svc, "1001")
    session, waiter = enter(svc)
    await settle()
    svc.leave(waiter, ev.LEFT_CALLER_HANGUP)
    await settle()
    assert session.of(ev.AGENT_RING_ENDED)[0]["reason"] == ev.RING_CALLER_GONE
    assert svc.agents["1001"].status == ag.AVAILABLE and svc.agents["1001"].missed_total == 0
    assert ari.originated[0]["channel_id"] in ari.hung_up


async def test_three_misses_in_a_row_pause_the_agent(service: Any) -> None:
    svc, ari, stasis = service
    svc.queues.queues = [general(members=("1001",), retry_delay=0.0)]
    ready(svc, "1001")
    enter(svc)
    for _ in range(3):
        await asyncio.sleep(0.01)
        agent_event(stasis, ari, "1001", {"type": "ChannelDestroyed", "cause": 17})
    await settle()
    state = svc.agents["1001"]
    assert state.status == ag.PAUSED and state.pause_reason == ag.AUTO_PAUSE_REASON
    with pytest.raises(Conflict):
        svc.login("1001")


async def test_agent_states_survive_a_restart(service: Any, db: Database) -> None:
    svc, _, _ = service
    ready(svc, "1001", "1002")
    svc.pause("1002", "会议")
    await asyncio.wait_for(svc.writer.wait_idle(), 5)
    again = QueueService(ari=FakeAri(), stasis=FakeStasis(), db=db, bus=EventBus(), queues=Catalog(general()))  # type: ignore[arg-type]
    await again.load()
    assert again.agents["1001"].status == ag.AVAILABLE
    assert (again.agents["1002"].status, again.agents["1002"].pause_reason) == (ag.PAUSED, "会议")
    # The phones are learnt again from Asterisk: not rung before that.
    assert not again.agents["1001"].registered
    await again.close()


def test_device_states_mean_registration_and_busy_elsewhere() -> None:
    s = ag.new_agent("1001", utcnow())
    assert device_events(s, "UNKNOWN") == []
    assert device_events(s, "NOT_INUSE") == [ag.DeviceRegistered()]
    s = ag.apply(ag.apply(s, ag.DeviceRegistered(), utcnow()), ag.Login(), utcnow())
    assert device_events(s, "INUSE") == [ag.DeviceBusy()]
    ringing = ag.apply(s, ag.Ring("c1"), utcnow())
    assert device_events(ringing, "RINGING") == []  # rung by the queue: not busy elsewhere
    assert device_events(s, "UNAVAILABLE") == [ag.DeviceUnregistered()]


async def test_an_overloaded_asterisk_is_not_the_agents_fault_and_is_not_hammered(service: Any) -> None:
    from callcore.ari.errors import AriUnavailable

    svc, ari, _ = service
    svc.queues.queues = [general(retry_delay=30.0)]
    ready(svc, "1001", "1002")
    ari.refuse = AriUnavailable("503 overloaded", method="POST", path="channels")
    session, _ = enter(svc)
    await settle()
    # One try; no storm of rings through every agent; nobody blamed.
    assert ari.rung() == ["1001"]
    assert session.of(ev.AGENT_RING_ENDED)[0]["reason"] == ev.RING_CANCELLED
    assert svc.agents["1001"].missed_total == 0 and svc.agents["1001"].status == ag.AVAILABLE


async def test_a_callback_booked_in_a_callers_place_is_served_before_those_behind_and_not_before_its_time(
        service: Any) -> None:
    svc, ari, stasis = service
    settings = svc.settings("general")
    _, behind = enter(svc, ago=10)
    booking = FakeSession(caller_number="13990000001", channel_id="")
    place = WaitingCaller(call_id=f"callback:{booking.call_id}", queue="general",
                          entered_at=utcnow() - timedelta(seconds=20), seq=0)
    loop = asyncio.get_running_loop()
    booked = svc.enter(booking, settings, place, None, kind="callback", pop={"callback": {"task_id": "t1"}},
                       not_before=loop.time() + 0.3)
    assert svc.position(behind) == 2 and svc.snapshot()["queues"][0]["waiting"] == 1
    assert svc.snapshot()["queues"][0]["callbacks"] == 1
    ready(svc, "1001")
    await settle()
    # A booking waiting out its retry gap does not hold up the line: the caller behind is rung.
    assert ari.rung() == ["1001"] and behind.rings
    agent_event(stasis, ari, "1001", {"type": "ChannelDestroyed", "cause": 19})
    await asyncio.sleep(0.35)
    await settle()
    # Once due, the booking is first: it entered before the caller.
    assert ari.rung()[-1] == "1001" and booked.rings, (ari.originated, booked.rings, behind.rings)
    # The booking is nobody's channel: no originator, and the screen pop tells the agent what it is.
    assert ari.originated[-1]["originator"] is None
    assert booking.of(ev.AGENT_RINGING)
    svc.leave(booked, ev.LEFT_SYSTEM)
    svc.leave(behind, ev.LEFT_CALLER_HANGUP)


async def test_click_to_dial_rings_only_that_agent_and_only_when_ready(service: Any) -> None:
    svc, ari, stasis = service
    settings = QueueSettings(name="click_to_dial", display_name="外呼", ring_timeout=20)
    party = FakeSession(caller_number="13990000002", channel_id="")
    with pytest.raises(Conflict):
        svc.ring_one("1001", party, settings, None, kind="click_to_dial")  # logged out
    ready(svc, "1001", "1002")
    _, caller = enter(svc)
    await settle()
    assert ari.rung() == ["1001"]
    with pytest.raises(Conflict):
        svc.ring_one("1001", party, settings, None, kind="click_to_dial")  # ringing for a caller
    direct = svc.ring_one("1002", party, settings, None, kind="click_to_dial")
    await settle()
    assert ari.rung() == ["1001", "1002"] and direct.caller.call_id not in svc.waiting
    assert direct.unanswered is not None
    agent_event(stasis, ari, "1002", {"type": "ChannelDestroyed", "cause": 19})
    await settle()
    assert direct.unanswered.done() and direct.unanswered.result() == ev.RING_NO_ANSWER
    # The agent's own call unanswered is no missed queue call.
    assert svc.agent("1002").status == ag.AVAILABLE and svc.agent("1002").missed_total == 0
    svc.leave(caller, ev.LEFT_CALLER_HANGUP)


async def test_an_agent_who_hangs_up_during_the_announcement_is_not_rung_again_at_once_for_that_caller(
        service: Any) -> None:
    """The agent answered, heard the queue's name and let the call go before the conversation: the caller
    waits again in the same place and goes to the other agents first; that agent only in a new round."""
    svc, ari, stasis = service
    svc.queues.queues = [general(retry_delay=0.3)]
    ready(svc, "1001", "1002")
    session, waiter = enter(svc)
    await settle()
    assert ari.rung() == ["1001"]
    agent_event(stasis, ari, "1001", {"type": "StasisStart", "args": ["agent", session.call_id]})
    await settle()
    ring = waiter.answered.result()
    svc.leave(waiter, ev.LEFT_ANSWERED)
    svc.agent_leg_done(ring, talked=False, wrap_up=0.0)  # gone during the announcement
    svc.put_back(waiter, skip="1001")
    await settle()
    assert svc.agents["1001"].status == ag.AVAILABLE and ari.rung() == ["1001", "1002"]


async def test_with_nobody_else_free_the_agent_who_let_the_call_go_is_rung_after_the_retry_delay(
        service: Any) -> None:
    svc, ari, stasis = service
    svc.queues.queues = [general(members=("1001",), retry_delay=0.3)]
    ready(svc, "1001")
    session, waiter = enter(svc)
    await settle()
    agent_event(stasis, ari, "1001", {"type": "StasisStart", "args": ["agent", session.call_id]})
    await settle()
    ring = waiter.answered.result()
    svc.leave(waiter, ev.LEFT_ANSWERED)
    svc.agent_leg_done(ring, talked=False, wrap_up=0.0)
    svc.put_back(waiter, skip="1001")
    await settle()
    assert ari.rung() == ["1001"]  # not at once
    await asyncio.sleep(0.5)
    assert ari.rung() == ["1001", "1001"]  # a new round after the retry delay
