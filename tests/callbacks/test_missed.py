"""漏接回拨: the sweep makes a task of every lost call, once, unless the citizen got through since."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from callcore.callbacks.missed import MissedCallSweep
from callcore.callbacks.models import MissedCallSeen
from callcore.callbacks.services import CallbackService
from callcore.callbacks.settings import CallbackSettings
from callcore.calls import outcomes as oc
from callcore.calls.models import Call
from callcore.calls.outbound import NumberPolicy
from callcore.store.db import Database

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def call(number: str, outcome: str, *, ago: float, answered: bool = False, direction: str = "inbound") -> Call:
    arrived = NOW - timedelta(seconds=ago)
    return Call(id=str(uuid.uuid4()), channel_id="c", direction=direction, caller_number=number, caller_name="",
                dialed="96881", status="ended", stage="ended", arrived_at=arrived, ended_at=arrived + timedelta(seconds=30),
                outcome=outcome, queue="general", queue_entered_at=arrived + timedelta(seconds=8),
                agent_answered_at=arrived + timedelta(seconds=20) if answered else None, attributes={})


async def test_lost_calls_become_tasks_once_unless_answered_since(db: Database) -> None:
    svc = CallbackService(db, CallbackSettings(), NumberPolicy.parse(CallbackSettings().allowed_prefixes),
                          clock=lambda: NOW)
    rows = [
        abandoned := call("13990000101", oc.ABANDONED_IN_QUEUE, ago=600),
        call("13990000102", oc.LOST_WHILE_RINGING, ago=500),
        call("13990000102", oc.ANSWERED, ago=300, answered=True),  # called again and got through
        timed_out := call("13990000103", oc.QUEUE_TIMEOUT, ago=400),
        call("13990000104", oc.SHORT_ABANDON, ago=400),  # a misdial
        call("", oc.ABANDONED_IN_QUEUE, ago=400),  # anonymous
        call("13990000105", oc.LOST_WHILE_RINGING, ago=3 * 86400),  # history, not a callback
        call("13990000106", oc.LOST_IN_IVR, ago=300),  # lost in the menus: not a queue loss
        call("13990000107", oc.ABANDONED_IN_QUEUE, ago=300, direction="callback"),  # the hotline's own call
    ]
    async with db.session() as s:
        s.add_all(rows)
    sweep = MissedCallSweep(svc, enabled=True, clock=lambda: NOW)
    assert await sweep.run_once() == 2
    assert await sweep.run_once() == 0  # each lost call decided once
    tasks = {t.number: t for t in await svc.list()}
    assert set(tasks) == {"13990000101", "13990000103"}
    assert tasks["13990000101"].call_id == abandoned.id and tasks["13990000101"].origin == "missed"
    assert tasks["13990000101"].entered_at == abandoned.queue_entered_at
    assert tasks["13990000103"].call_id == timed_out.id
    async with db.session() as s:
        decisions = {r.decision for r in (await s.execute(MissedCallSeen.__table__.select())).all()}
    assert decisions == {"task", "reached_since", "no_number"}
    # The citizen calls again and reaches a person before the callback: the task is closed.
    async with db.session() as s:
        s.add(call("13990000101", oc.ANSWERED, ago=60, answered=True))
    assert await sweep.run_once() == 1
    closed = {t.number: t for t in await svc.list()}["13990000101"]
    assert (closed.status, closed.closed_reason) == ("cancelled", "reached_since")


async def test_switched_off_no_task_is_made(db: Database) -> None:
    svc = CallbackService(db, CallbackSettings(missed_calls=False),
                          NumberPolicy.parse(CallbackSettings().allowed_prefixes), clock=lambda: NOW)
    async with db.session() as s:
        s.add(call("13990000108", oc.ABANDONED_IN_QUEUE, ago=100))
    assert await MissedCallSweep(svc, enabled=False, clock=lambda: NOW).run_once() == 0
    assert await svc.list() == []


async def test_every_message_left_has_its_task_once_even_if_the_listener_never_ran(db: Database) -> None:
    from callcore.recordings.models import Recording

    svc = CallbackService(db, CallbackSettings(missed_calls=False),
                          NumberPolicy.parse(CallbackSettings().allowed_prefixes), clock=lambda: NOW)
    sweep = MissedCallSweep(svc, enabled=False, clock=lambda: NOW)
    told, untold, handled = (call("13990000111", oc.LEFT_BY_CHOICE, ago=200), call("13990000112", oc.LEFT_BY_CHOICE, ago=150),
                             call("13990000113", oc.LEFT_BY_CHOICE, ago=100))

    def message(c: Call, *, done: bool = False) -> Recording:
        return Recording(id=str(uuid.uuid4()), call_id=c.id, name=f"vm-{c.id}", path="/x.wav", status="done",
                         started_at=c.arrived_at + timedelta(seconds=5), kind="voicemail", mailbox="general",
                         handled_at=NOW if done else None)

    rows = [message(told), message(untold), message(handled, done=True)]
    async with db.session() as s:
        s.add_all([told, untold, handled, *rows])
    # The listener made the first one's task when the message was stored.
    first = await sweep.voicemail_task(recording_id=rows[0].id, call_id=told.id, number=told.caller_number,
                                       queue=None, at=rows[0].started_at)
    assert first is not None
    assert await sweep.voicemail_task(recording_id=rows[0].id, call_id=told.id, number=told.caller_number,
                                      queue=None, at=rows[0].started_at) is None  # decided once
    # The sweep finds the one whose task was never made (a handled message needs none).
    assert await sweep.run_once() == 1
    assert await sweep.run_once() == 0
    tasks = {t.number: t for t in await svc.list()}
    assert set(tasks) == {"13990000111", "13990000112"}
    assert tasks["13990000112"].origins[0]["voicemail_id"] == rows[1].id
    assert len(tasks["13990000111"].origins) == 1
