"""Click-to-dial (``ClickToDial``) with a fake ARI and trunk, on the real dispatcher, dialer and store.

A click-to-dial that serves a callback task is one attempt on the task, made and recorded by the
dialer's own ``attempt``: the attempt row, the outcome (reached closes the task; no answer leaves it
to the dialer's retries) and the call record's ``callback_attempt``; the dialer leaves the task alone
while the agent's call has it, and an agent's call leaves alone a task the dialer is ringing for.
The journeys through real Asterisk are tests/e2e/test_callbacks.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from callcore.callbacks.clicktodial import ClickToDial, NumberMismatch
from callcore.callbacks.dialer import CallbackDialer
from callcore.callbacks.services import CallbackService
from callcore.callbacks.settings import CallbackSettings
from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.journal import CallJournal
from callcore.calls.outbound import DialResult, NumberPolicy, OutboundDialer
from callcore.calls.session import CallSession
from callcore.core.bus import EventBus, Subscription
from callcore.core.errors import Conflict, NotFound
from callcore.core.identity import Principal
from callcore.queues.card import CallerCard
from callcore.queues.models import Agent
from callcore.queues.services import QueueService, Ring, agent_topic
from callcore.queues.settings import QueueSettings
from callcore.queues.strategies import Member
from callcore.store.base import utcnow
from callcore.store.db import Database
from tests.calls.journals import drain
from tests.polling import until
from tests.queues.test_services import FakeStasis

WHO = Principal(user_id="u-1001", name="接线员", role="agent")


class FakeAri:
    """Asterisk as the dispatcher and the dialer use it: agents' phones dialled, hung up, played to."""

    app = "callcore"

    def __init__(self, stasis: FakeStasis) -> None:
        self.stasis = stasis
        self.originated: list[dict[str, Any]] = []
        self.hung_up: list[str] = []

    async def originate(self, endpoint: str, **kw: Any) -> None:
        self.originated.append({"endpoint": endpoint, **kw})

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hung_up.append(channel_id)

    async def play(self, channel_id: str, media: str, *, playback_id: str) -> None:
        handler = self.stasis.claims.get(channel_id)
        if handler is not None:  # played at once
            asyncio.get_running_loop().call_soon(handler, {"type": "PlaybackFinished", "playback": {"id": playback_id}})

    def rung(self) -> list[str]:
        return [o["endpoint"].removeprefix("PJSIP/") for o in self.originated]


class ScriptedTrunk(OutboundDialer):
    """The trunk: each citizen's phone answers, or not, as the test says."""

    def __init__(self, ari: FakeAri, stasis: FakeStasis, journal: CallJournal, policy: NumberPolicy) -> None:
        super().__init__(ari=ari, stasis=stasis, journal=journal, trunk="citizen-out",  # type: ignore[arg-type]
                         caller_id="96881", policy=policy)
        self.results: list[DialResult] = []
        self.dialled: list[str] = []

    async def dial(self, session: CallSession, *, timeout: float, originator: str | None = None) -> DialResult:
        self.dialled.append(session.dialed)
        result = self.results.pop(0)
        session.event(ev.OUTBOUND_ANSWERED if result.answered else ev.OUTBOUND_FAILED,
                      **({} if result.answered else {"reason": result.reason}))
        return result


class Handoff:
    """The conversation: over at once, the agent free again."""

    def __init__(self, service: QueueService) -> None:
        self.service = service
        self.conversations: list[str] = []

    async def converse(self, session: CallSession, ring: Ring, settings: QueueSettings) -> str:
        self.conversations.append(session.call_id)
        self.service.agent_leg_done(ring, talked=True, wrap_up=0.0)
        return "agent"


class Catalog:
    def __init__(self, *queues: QueueSettings) -> None:
        self.queues = list(queues)

    def all(self) -> list[QueueSettings]:
        return self.queues


@dataclass
class Rig:
    service: QueueService
    ari: FakeAri
    stasis: FakeStasis
    trunk: ScriptedTrunk
    callbacks: CallbackService
    dialer: CallbackDialer
    click: ClickToDial
    journal: CallJournal

    def ready(self, *numbers: str) -> None:
        for n in numbers:
            self.service.on_device_state(f"PJSIP/{n}", "NOT_INUSE")
            self.service.login(n)

    def agent_event(self, agent: str, event: dict[str, Any]) -> None:
        channel_id = next(o["channel_id"] for o in reversed(self.ari.originated) if o["endpoint"] == f"PJSIP/{agent}")
        self.stasis.claims[channel_id]({"channel": {"id": channel_id}, **event})

    async def task(self, number: str, *, origin: str = "offer") -> str:
        task_id = await self.callbacks.request(number=number, origin=origin, queue="general",
                                               entered_at=utcnow() - timedelta(minutes=5))
        assert task_id
        return task_id

    def in_line(self, task_id: str) -> bool:
        """The dialer's booking of the task waits in the queue's line."""
        booking = self.dialer.bookings.get(task_id)
        return booking is not None and booking.waiter is not None and f"callback:{task_id}" in self.service.waiting

    async def calls_over(self) -> None:
        await until(lambda: not self.click._tasks, "the click-to-dial calls over")


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sounds")  # the agent's prompts, synthesized once


@pytest.fixture
async def rig(db: Database, tmp_path: Path, sounds: Path) -> AsyncIterator[Rig]:
    async with db.session() as s:
        for number in ("1001", "1002"):
            s.add(Agent(id=str(uuid.uuid4()), number=number, name=f"坐席{number}", sip_md5="0" * 32))
    stasis = FakeStasis()
    ari = FakeAri(stasis)
    # The dialer's line is served by 1002; 1001 calls from the console.
    general = QueueSettings(name="general", display_name="综合服务", ring_timeout=15,
                            members=(Member(agent_id="1002", order=0),))
    service = QueueService(ari=ari, stasis=stasis, db=db, bus=EventBus(), queues=Catalog(general))  # type: ignore[arg-type]
    await service.load()
    writer = asyncio.ensure_future(service.writer.run())
    settings = CallbackSettings(retry_gap=1)
    policy = NumberPolicy.parse(settings.allowed_prefixes)
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    trunk = ScriptedTrunk(ari, stasis, journal, policy)
    callbacks = CallbackService(db, settings, policy)

    async def card(call_id: str, number: str) -> CallerCard:
        return CallerCard(call_id=call_id, caller_number=number, built_at=utcnow())

    dialer = CallbackDialer(service=service, handoff=Handoff(service), outbound=trunk,  # type: ignore[arg-type]
                            callbacks=callbacks, journal=journal, sounds_dir=sounds, card=card, ring_seconds=30)
    click = ClickToDial(service=service, dialer=dialer, outbound=trunk, journal=journal, card=card,
                        tickets=None, wrap_up=0.0)  # type: ignore[arg-type]
    yield Rig(service=service, ari=ari, stasis=stasis, trunk=trunk, callbacks=callbacks, dialer=dialer, click=click,
              journal=journal)
    await click.close()
    await dialer.close()
    await service.close()
    writer.cancel()
    await drain(journal)


async def _screen_pop(feed: Subscription) -> dict[str, Any]:
    while (item := await feed.get())["kind"] != "screen_pop":
        pass
    return item


async def test_a_click_to_dial_for_a_task_is_an_attempt_on_it_and_reaching_the_citizen_closes_it(
        rig: Rig) -> None:
    task_id = await rig.task("13930000001")
    rig.ready("1001")
    async with rig.service.bus.subscribe(agent_topic("1001")) as feed:
        call_id = await rig.click.originate(agent="1001", who=WHO, callback=task_id)  # the task's number
        pop = await asyncio.wait_for(_screen_pop(feed), 2)
    assert rig.ari.rung() == ["1001"] and not rig.in_line(task_id)
    # The agent sees what the call is for: their own call, for this task's first try.
    assert pop["origin"] == "click_to_dial" and pop["callback"]["task_id"] == task_id
    assert pop["callback"]["attempt"] == 1 and pop["call_id"] == call_id
    rig.trunk.results.append(DialResult("answered"))
    rig.agent_event("1001", {"type": "StasisStart"})
    await rig.calls_over()
    assert rig.trunk.dialled == ["13930000001"]
    task, [attempt] = await rig.callbacks.get(task_id)
    assert (task.status, task.closed_reason, task.agent, task.open_number) == ("reached", "reached", "1001", None)
    assert (attempt.n, attempt.call_id, attempt.agent, attempt.outcome) == (1, call_id, "1001", "reached")
    assert task_id not in rig.dialer.bookings  # nothing left to book
    # Its call record: the agent's own call, attempt 1 of the task, who asked for it.
    await drain(rig.journal)
    found = await queries.get_call(rig.service.db, call_id)
    assert found is not None
    call, events = found
    assert call.direction == "click_to_dial" and call.attributes["requested_by"] == WHO.user_id
    [tried] = [e.data for e in events if e.type == ev.CALLBACK_ATTEMPT]
    assert tried["task_id"] == task_id and tried["n"] == 1


async def test_no_answer_leaves_the_task_to_the_dialers_retries_and_the_dialer_never_dials_it_meanwhile(
        rig: Rig) -> None:
    task_id = await rig.task("13930000002")  # due now; the dialer's agent is not ready yet
    assert rig.in_line(task_id)
    rig.ready("1001")
    call_id = await rig.click.originate(agent="1001", who=WHO, number="139-3000-0002", callback=task_id)
    assert not rig.in_line(task_id)
    # The dialer's agent becomes free, the citizen asks again: the dialer still leaves the task to 1001.
    rig.ready("1002")
    await rig.callbacks.request(number="13930000002", origin="missed", queue="general", entered_at=utcnow())
    await asyncio.sleep(0.05)
    assert rig.ari.rung() == ["1001"] and not rig.in_line(task_id)
    rig.trunk.results.append(DialResult("no_answer", 19))
    rig.agent_event("1001", {"type": "StasisStart"})
    await rig.calls_over()
    task, [attempt] = await rig.callbacks.get(task_id)
    assert (task.status, task.attempts) == ("pending", 1)
    assert (attempt.call_id, attempt.agent, attempt.outcome, attempt.cause) == (call_id, "1001", "no_answer", 19)
    assert task.next_attempt_at is not None and task.next_attempt_at > utcnow()
    # Back in line, and the dialer tries again once the retry gap is over (not before).
    assert rig.in_line(task_id) and rig.ari.rung() == ["1001"]
    await until(lambda: rig.ari.rung() == ["1001", "1002"], "the dialer's retry", timeout=3)
    assert datetime.now(task.next_attempt_at.tzinfo) >= task.next_attempt_at - timedelta(milliseconds=50)
    booking = rig.dialer.bookings[task_id]
    assert booking.waiter is not None and booking.waiter.pop["callback"]["attempt"] == 2
    # The dialer's own try reaches the citizen: one task, both tries in its list, each with its call.
    rig.trunk.results.append(DialResult("answered"))
    rig.agent_event("1002", {"type": "StasisStart"})
    await until(lambda: task_id not in rig.dialer.bookings, "the dialer's try over")
    task, attempts = await rig.callbacks.get(task_id)
    assert (task.status, task.agent) == ("reached", "1002")
    assert [(a.n, a.agent, a.outcome) for a in attempts] == [(1, "1001", "no_answer"), (2, "1002", "reached")]
    assert attempts[1].call_id == booking.call_id != call_id


async def test_a_task_the_dialer_is_ringing_an_agent_for_is_not_taken_by_a_click_to_dial(rig: Rig) -> None:
    rig.ready("1002")
    task_id = await rig.task("13930000003")
    await until(lambda: rig.ari.rung() == ["1002"], "the dialer ringing 1002")
    rig.ready("1001")
    with pytest.raises(Conflict) as refused:
        await rig.click.originate(agent="1001", who=WHO, callback=task_id)
    assert refused.value.status == 409 and "正在呼叫" in refused.value.text
    assert rig.ari.rung() == ["1002"]
    booking = rig.dialer.bookings[task_id]
    assert booking.waiter is not None and "1002" in booking.waiter.rings  # the dialer's ring goes on


async def test_unknown_closed_and_other_numbers_are_refused_before_anything_rings(rig: Rig) -> None:
    rig.ready("1001")
    with pytest.raises(NotFound) as unknown:
        await rig.click.originate(agent="1001", who=WHO, callback=str(uuid.uuid4()))
    assert unknown.value.status == 404
    closed = await rig.task("13930000004")
    await rig.callbacks.cancel(closed, reason="duplicate")
    with pytest.raises(Conflict) as done:
        await rig.click.originate(agent="1001", who=WHO, callback=closed)
    assert done.value.status == 409 and done.value.message.endswith("is already cancelled")
    task_id = await rig.task("13930000005")
    for other in ("13930000006", "0088612345678"):
        with pytest.raises(NumberMismatch) as mismatch:
            await rig.click.originate(agent="1001", who=WHO, number=other, callback=task_id)
        assert mismatch.value.status == 400
    assert rig.ari.originated == [] and rig.in_line(task_id)
    assert (await rig.callbacks.get(task_id))[1] == []  # no attempt


async def test_an_agent_who_cannot_be_rung_gives_the_task_back_to_the_dialer(rig: Rig) -> None:
    task_id = await rig.task("13930000007")
    with pytest.raises(Conflict, match="cannot be rung"):
        await rig.click.originate(agent="1001", who=WHO, callback=task_id)  # logged out
    assert rig.in_line(task_id) and rig.ari.originated == []
    # An agent who does not pick up: the task is back in line too, with no attempt.
    rig.ready("1001")
    await rig.click.originate(agent="1001", who=WHO, callback=task_id)
    assert not rig.in_line(task_id)
    await until(lambda: rig.ari.rung() == ["1001"], "1001's phone dialled")
    rig.agent_event("1001", {"type": "ChannelDestroyed", "cause": 19})
    await rig.calls_over()
    assert rig.in_line(task_id) and (await rig.callbacks.get(task_id))[1] == []
