"""Callback tasks in the store: one open task per number, attempts, retries, closing, recovery, figures."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from callcore.callbacks.models import CallbackTask
from callcore.callbacks.services import CallbackService, TaskView
from callcore.callbacks.settings import CallbackSettings
from callcore.calls.outbound import NumberPolicy
from callcore.core.errors import Conflict, NotFound
from callcore.store.db import Database

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Listener:
    def __init__(self) -> None:
        self.opened: list[TaskView] = []
        self.closed: list[str] = []

    def task_open(self, task: TaskView) -> None:
        self.opened.append(task)

    def task_closed(self, task_id: str) -> None:
        self.closed.append(task_id)


def service(db: Database, clock: Clock, **settings: float) -> tuple[CallbackService, Listener]:
    cb = CallbackSettings(**settings)  # type: ignore[arg-type]
    svc = CallbackService(db, cb, NumberPolicy.parse(cb.allowed_prefixes), clock=clock)
    listener = Listener()
    svc.listeners.append(listener)
    return svc, listener


async def test_one_open_task_per_number_keeps_the_earliest_place(db: Database) -> None:
    clock = Clock()
    svc, listener = service(db, clock)
    first = await svc.request(number="139-9000-0001", origin="missed", queue="general", entered_at=T0, seq=7,
                              call_id="c1")
    clock.now += timedelta(minutes=5)
    again = await svc.request(number="13990000001", origin="voicemail", queue="complaint",
                              entered_at=T0 + timedelta(minutes=4), seq=9, call_id="c2", voicemail_id="r2", priority=2)
    assert first == again
    task, _ = await svc.get(first)
    assert (task.origin, task.queue, task.entered_at, task.seq, task.priority) == ("missed", "general", T0, 7, 2)
    assert [o["origin"] for o in task.origins] == ["missed", "voicemail"]
    assert task.asked_at == clock.now
    # An earlier place wins when a reason brings one.
    await svc.request(number="13990000001", origin="offer", queue="complaint", entered_at=T0 - timedelta(minutes=1),
                      seq=3, call_id="c3")
    task, _ = await svc.get(first)
    assert (task.queue, task.entered_at, task.seq) == ("complaint", T0 - timedelta(minutes=1), 3)
    assert len(listener.opened) == 3 and {t.id for t in listener.opened} == {first}
    # A missed call waits a little before its first callback; an offer does not.
    assert task.next_attempt_at == T0 + timedelta(seconds=CallbackSettings().missed_delay)


async def test_concurrent_requests_for_one_number_make_one_task(db: Database) -> None:
    svc, _ = service(db, Clock())
    ids = await asyncio.gather(*(svc.request(number="13990000002", origin="missed", queue="general", entered_at=T0,
                                             call_id=f"c{i}") for i in range(5)))
    assert len(set(ids)) == 1
    assert len(await svc.list()) == 1


async def test_a_number_that_cannot_be_dialled_gets_no_task(db: Database) -> None:
    svc, listener = service(db, Clock())
    for number in ("", "anonymous", "0088612345678", "96881"):
        assert await svc.request(number=number, origin="missed", queue="general", entered_at=T0) is None
    assert not listener.opened and await svc.list() == []
    with pytest.raises(ValueError):
        await svc.request(number="13990000001", origin="spam", queue="general", entered_at=T0)


async def test_busy_and_no_answer_are_retried_after_the_gap_until_the_attempts_are_used_up(db: Database) -> None:
    clock = Clock()
    svc, listener = service(db, clock, retry_gap=120, max_attempts=3)
    task_id = await svc.request(number="13990000003", origin="offer", queue="general", entered_at=T0)
    assert task_id
    for n, outcome in enumerate(("busy", "no_answer"), start=1):
        started = await svc.start_attempt(task_id, call_id=f"call{n}", agent="1001")
        assert started is not None and started[1] == n
        assert (await svc.get(task_id))[0].status == "dialling"
        next_at = await svc.attempt_ended(task_id, started[0], outcome, cause=17)
        assert next_at == clock.now + timedelta(seconds=120)
        clock.now = next_at
    # An agent who left mid-attempt is no try at the citizen: a short pause, not counted.
    started = await svc.start_attempt(task_id, call_id="call3", agent="1001")
    assert started is not None
    assert await svc.attempt_ended(task_id, started[0], "agent_gone") == clock.now + timedelta(seconds=10)
    assert (await svc.get(task_id))[0].attempts == 2
    started = await svc.start_attempt(task_id, call_id="call4", agent="1002")
    assert started is not None
    assert await svc.attempt_ended(task_id, started[0], "failed") is None
    task, attempts = await svc.get(task_id)
    assert (task.status, task.closed_reason, task.attempts, task.open_number) == ("failed", "attempts_used_up", 3, None)
    assert [a.outcome for a in attempts] == ["busy", "no_answer", "agent_gone", "failed"]
    assert listener.closed == [task_id]
    assert await svc.start_attempt(task_id, call_id="call5", agent="1001") is None
    # The number may have a new task now.
    assert await svc.request(number="13990000003", origin="missed", queue="general", entered_at=T0) != task_id


async def test_reached_closes_the_task_and_the_conversation_closes_the_attempt(db: Database) -> None:
    clock = Clock()
    svc, listener = service(db, clock)
    task_id = await svc.request(number="13990000004", origin="offer", queue="general", entered_at=T0)
    assert task_id
    started = await svc.start_attempt(task_id, call_id="call1", agent="1001")
    assert started is not None
    clock.now += timedelta(minutes=3)
    await svc.reached(task_id, started[0], agent="1001")
    task, [attempt] = await svc.get(task_id)
    assert (task.status, task.agent, attempt.outcome) == ("reached", "1001", "talking")
    await svc.finish_attempt(started[0])
    assert (await svc.get(task_id))[1][0].outcome == "reached"
    found = await svc.attempt_of_call("call1")
    assert found is not None and found[0].id == task_id
    figures = await svc.figures(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert figures["created"] == 1 and figures["reached"] == 1 and figures["median_seconds_to_callback"] == 180.0
    assert listener.closed == [task_id]


async def test_cancel_expire_and_recover_after_a_restart(db: Database) -> None:
    clock = Clock()
    svc, listener = service(db, clock, deadline_hours=1)
    a = await svc.request(number="13990000005", origin="offer", queue="general", entered_at=T0)
    b = await svc.request(number="13990000006", origin="offer", queue="general", entered_at=T0 + timedelta(seconds=1))
    c = await svc.request(number="13990000007", origin="offer", queue="general", entered_at=T0 + timedelta(seconds=2))
    assert a and b and c
    with pytest.raises(NotFound):
        await svc.cancel("nope", reason="x")
    await svc.cancel(a, reason="duplicate")
    with pytest.raises(Conflict):
        await svc.cancel(a, reason="again")
    # b was being dialled when the daemon stopped: back in line, its attempt interrupted and not counted.
    assert await svc.start_attempt(b, call_id="callb", agent="1001") is not None
    with pytest.raises(Conflict):
        await svc.cancel(b, reason="busy now")
    pending = await svc.recover()
    assert [t.id for t in pending] == [b, c]
    task, [attempt] = await svc.get(b)
    assert (task.status, task.attempts, attempt.outcome) == ("pending", 0, "interrupted")
    clock.now += timedelta(hours=2)
    assert await svc.expire() == 2
    everything, total = await svc.page()
    assert {t.status for t in everything} == {"cancelled", "expired"} and total == len(everything)
    assert set(listener.closed) == {a, b, c}
    assert all(t.open_number is None for t in everything)
    rows, total = await svc.page(status=["expired"], origin="offer")
    assert {t.id for t in rows} == {b, c} and all(isinstance(t, CallbackTask) for t in rows) and total == 2
    page, total = await svc.page(status=["expired"], origin="offer", limit=1, offset=1)
    assert len(page) == 1 and page[0].id in {b, c} and total == 2  # a page, and how many in all
