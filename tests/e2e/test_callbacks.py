"""T-11, T-12 and 漏接回拨 through a real Asterisk: citizens (SIPp UAC) choose a callback in the queue,
miss the queue, and are called back (or dialled by click-to-dial) through the outbound trunk, where
a SIPp server (``TrunkPhone``) plays the citizens' phones; agents are registered SIPp phones.

Agent numbers 8001–8009 and caller numbers 1399000xxxx are these journeys' own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callcore.callbacks.models import MissedCallSeen
from callcore.store.db import Database
from harness import sipp
from harness.phones import AgentPhone, Answer, NeverAnswer, Reject, TrunkPhone, wait_contact
from harness.stack import Stack
from tests.e2e.test_queues import agent, api, events, log_in, queue_daemon, start
from tests.e2e.waiting import eventually, timeline

__all__ = ["queue_daemon"]  # the fixture, used by name

CALLBACK_ENV = {
    "CALLCORE_CALLBACKS_DIAL": "true",
    "CALLCORE_CALLBACKS_MISSED_CALLS": "true",
    "CALLCORE_CALLBACKS_RETRY_GAP": "3",
    "CALLCORE_CALLBACKS_OFFER_AFTER": "1",
    "CALLCORE_CALLBACKS_RING_SECONDS": "8",
    "CALLCORE_CALLBACKS_MISSED_DELAY": "40",
}


@pytest.fixture
async def callback_daemon(queue_daemon: Stack) -> AsyncIterator[Stack]:
    """The queue journeys' daemon with the dialer, the offer and the missed-call sweep on, and no task
    left by other journeys (their messages' tasks) in line before this journey's own."""
    before = {k: queue_daemon.env.get(k) for k in CALLBACK_ENV}
    queue_daemon.env.update(CALLBACK_ENV)
    await queue_daemon.cancel_open_callbacks()
    try:
        yield queue_daemon
    finally:
        for key, value in before.items():
            if value is None:
                queue_daemon.env.pop(key, None)
            else:
                queue_daemon.env[key] = value


async def tasks(stack: Stack, **params: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page = await api(stack, "GET", "/callbacks" + (f"?{query}" if query else ""))
    return list(page["items"])


async def task_of(stack: Stack, number: str, *, timeout: float = 30, **want: Any) -> dict[str, Any]:
    """The task whose masked number ends like ``number`` (and has the ``want`` fields), once there is one."""
    async def check() -> dict[str, Any] | None:
        for t in await tasks(stack):
            if t["number"][-4:] == number[-4:] and all(t.get(k) == v for k, v in want.items()):
                return dict(await api(stack, "GET", f"/callbacks/{t['id']}"))
        return None
    return await eventually(check, f"a callback task for {number} with {want}", timeout=timeout)


async def queued(stack: Stack, number: str) -> None:
    """Until the caller's call in progress has entered a queue's line."""
    async def check() -> bool:
        return any(["queue_entered" in await timeline(stack, row["id"])
                    for row in await stack.calls(status="active", caller=number)])
    await eventually(check, f"{number} in a queue's line")


async def sweep_decision(stack: Stack, call_id: str) -> tuple[str, str | None] | None:
    """What the missed-call sweep decided on a lost call (callcore/callbacks/missed.py), and the task it
    made if any, from the store; None until it has."""
    db = Database(stack.settings.database_url)
    try:
        async with db.session() as s:
            seen = await s.get(MissedCallSeen, call_id)
            return None if seen is None else (seen.decision, seen.task_id)
    finally:
        await db.close()


async def test_a_caller_who_chooses_a_callback_keeps_their_place_and_is_called_back_after_a_busy_try(
        callback_daemon: Stack, tmp_path: Path) -> None:
    stack = callback_daemon
    password = await agent(stack, "8001")
    await start(stack, tmp_path, ["8001"], wrap_up=1, announce_every=60, ring_timeout=8)
    first, chooser, stayer = "13990000001", "13990000002", "13990000003"
    # The agent's phone answers and talks until the other side hangs up.
    async with AgentPhone(stack.sip, "8001", password, workdir=tmp_path / "a1",
                          behaviour=Answer(after_seconds=0.5)) as phone, \
            TrunkPhone(stack.trunk_port, workdir=tmp_path / "trunk", behaviour=Reject(486, "Busy Here")) as citizens:
        await wait_contact(stack.cli, "8001")
        await log_in(stack, "8001")
        # The agent is busy with a first caller; then the chooser queues, then the stayer.
        busy = asyncio.ensure_future(sipp.call(
            stack.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(14_000), sipp.HangUp()],
            workdir=tmp_path / "first", caller=first, timeout_s=60))
        await phone.wait_calls(1, ended=False, timeout=20)
        choose = asyncio.ensure_future(sipp.call(
            stack.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(3000), sipp.Keys("1", via="info"),
                        sipp.Pause(2000), sipp.Keys("1", via="info"), sipp.ExpectHangup(30_000)],
            workdir=tmp_path / "chooser", caller=chooser, timeout_s=60))
        await queued(stack, chooser)  # the stayer comes after the chooser
        stay = asyncio.ensure_future(sipp.call(
            stack.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(26_000), sipp.HangUp()],
            workdir=tmp_path / "stayer", caller=stayer, timeout_s=60))
        chose = await choose
        assert chose.ok, chose.output
        task = await task_of(stack, chooser)
        assert task["origin"] == "offer"
        # The busy try, then the citizen's phone answers the retry.
        [tried] = await citizens.wait_calls(1, timeout=40)
        assert tried.to_user == chooser and tried.outcome == "rejected"
        await citizens.start(Answer(after_seconds=0.5, talk_seconds=4))
        for done in (await busy, await stay):
            assert done.ok, done.output
        reached = await task_of(stack, chooser, timeout=60, status="reached")
        answered = (await citizens.wait_calls(2, timeout=30))[1]
        assert answered.to_user == chooser and answered.answered_at is not None
        rings = await phone.wait_calls(4, timeout=30)

        async def attempt_closed() -> dict[str, Any] | None:
            now = dict(await api(stack, "GET", f"/callbacks/{reached['id']}"))
            return now if now["tries"][-1]["outcome"] == "reached" else None
        # The conversation is over: the attempt is closed.
        reached = await eventually(attempt_closed, "the reached attempt closed", timeout=10)
    # The agent's phone: the first caller, the chooser's callback (showing the chooser's number)
    # before the stayer who was behind, then the retry.
    assert [c.caller for c in rings[:4]] == [first, chooser, stayer, chooser], rings
    attempts = reached["tries"]
    assert [a["outcome"] for a in attempts] == ["busy", "reached"], attempts
    assert reached["attempts"] == 1 and reached["agent"] == "8001"
    # The stayer was answered after the chooser's first try began: the chooser kept the place.
    [stay_row] = await stack.wait_for_calls(1, caller=stayer, direction="inbound", timeout=30)
    stay_detail = await stack.call_detail(stay_row["id"])
    first_try = await stack.call_detail(attempts[0]["call_id"])
    assert first_try["direction"] == "callback"
    assert events(first_try, "outbound_failed")[0]["reason"] == "busy"
    assert first_try["timeline"][0]["at"] < next(e["at"] for e in stay_detail["timeline"] if e["type"] == "agent_answered")
    # The chooser's own call left the queue for a callback: counted as such, never abandoned.
    [chooser_row] = await stack.wait_for_calls(1, caller=chooser, direction="inbound", timeout=30)
    chooser_detail = await stack.call_detail(chooser_row["id"])
    assert chooser_detail["outcome"] == "left_by_choice"
    assert [d["reason"] for d in events(chooser_detail, "queue_left")] == ["callback"]
    # The reached attempt is a call of its own, bridged, talked and recorded.
    talk = await stack.call_detail(attempts[1]["call_id"])
    assert talk["direction"] == "callback" and events(talk, "talk_started")
    recordings = await api(stack, "GET", f"/recordings?call_id={attempts[1]['call_id']}")
    assert recordings["items"], recordings


async def test_missed_calls_get_a_task_unless_the_caller_got_through_and_tasks_survive_a_restart(
        callback_daemon: Stack, tmp_path: Path) -> None:
    stack = callback_daemon
    password = await agent(stack, "8002")
    await start(stack, tmp_path, ["8002"], ring_timeout=30)
    lost, again = "13990000010", "13990000011"
    async with AgentPhone(stack.sip, "8002", password, workdir=tmp_path / "a2", behaviour=NeverAnswer()) as phone:
        await wait_contact(stack.cli, "8002")
        await log_in(stack, "8002")
        # Both give up while the agent's phone rings: lost while ringing.
        for number in (lost, again):
            gave_up = await sipp.call(stack.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(9000), sipp.HangUp()],
                                      workdir=tmp_path / f"lost-{number}", caller=number, timeout_s=40)
            assert gave_up.ok, gave_up.output
        # One of them calls again at once and is answered.
        await phone.start(Answer(after_seconds=0.5))
        await log_in(stack, "8002")
        answered = await sipp.call(stack.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(10_000), sipp.HangUp()],
                                   workdir=tmp_path / "again", caller=again, timeout_s=40)
        assert answered.ok, answered.output
        task = await task_of(stack, lost, origin="missed")
        assert task["status"] == "pending" and task["call_id"]
        lost_call = await stack.call_detail(task["call_id"])
        assert lost_call["outcome"] == "lost_while_ringing"
        # The one who got through has no callback waiting: the sweep decided on their lost call and made
        # no task (they reached a person since), or made one before the answered call was stored and
        # closed it at its next round.
        [missed] = [c for c in await stack.calls(status="ended", caller=again) if c["outcome"] == "lost_while_ringing"]
        decision, task_id = await eventually(lambda: sweep_decision(stack, missed["id"]),
                                             "the sweep's decision on the lost call")
        if task_id is None:
            assert decision == "reached_since", decision
        else:
            async def closed() -> dict[str, Any] | None:
                made = dict(await api(stack, "GET", f"/callbacks/{task_id}"))
                return made if made["status"] != "pending" else None
            closed_task = await eventually(closed, "the task of the one who got through closed")
            assert closed_task["closed_reason"] == "reached_since", closed_task
        assert not [t for t in await tasks(stack, status="pending") if t["number"][-4:] == again[-4:]]
        # A restart loses no task: it is back in its queue's line, at its place.
        await stack.stop_daemon()
        await stack.start_daemon()
        after = await api(stack, "GET", f"/callbacks/{task['id']}")
        assert after["status"] == "pending" and after["entered_at"] == task["entered_at"]
        async def in_line() -> list[dict[str, Any]]:
            board = await api(stack, "GET", "/wallboard")
            return [c for q in board["queues"] for c in q["callers"] if c.get("kind") == "callback"]
        await eventually(in_line, "the task back in its queue's line on the wallboard", timeout=15)
        await api(stack, "POST", f"/callbacks/{task['id']}/cancel", {"reason": "test over"})


async def test_click_to_dial_rings_the_agent_then_the_citizen_and_refuses_numbers_it_may_not_dial(
        callback_daemon: Stack, tmp_path: Path) -> None:
    stack = callback_daemon
    password = await agent(stack, "8003")
    await start(stack, tmp_path, ["8003"])
    citizen = "13990000020"
    async with AgentPhone(stack.sip, "8003", password, workdir=tmp_path / "a3",
                          behaviour=Answer(after_seconds=0.5, talk_seconds=5)) as phone, \
            TrunkPhone(stack.trunk_port, workdir=tmp_path / "trunk", behaviour=Answer(after_seconds=0.5)) as citizens:
        await wait_contact(stack.cli, "8003")
        await log_in(stack, "8003")
        headers = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"}
        async with aiohttp.ClientSession(headers=headers) as s:
            for bad in ("0088612345678", "12345", "1900123", "+8613990000020"):
                async with s.post(f"{stack.api}/agents/8003/originate", json={"number": bad}) as r:
                    body = await r.json()
                    assert r.status == 400 and body["error_id"] in ("number_refused", "invalid_input"), (bad, body)
            # A ticket nobody has is refused before anything rings.
            async with s.post(f"{stack.api}/agents/8003/originate",
                              json={"number": citizen, "ticket_id": "00000000-0000-0000-0000-000000000000"}) as r:
                assert r.status == 404, await r.text()
        assert phone.calls() == []
        # A satisfaction callback about a ticket: the call (and its recording) is linked to it.
        ticket = await api(stack, "POST", "/tickets", {"category": "help", "content": "路灯不亮", "phone": citizen})
        placed = await api(stack, "POST", "/agents/8003/originate", {"number": citizen, "ticket_id": ticket["id"]})
        [rang] = await phone.wait_calls(1, timeout=20)
        [dialled] = await citizens.wait_calls(1, timeout=20)
        assert dialled.to_user == citizen and dialled.answered_at is not None
        assert rang.arrived_at < dialled.arrived_at
        [row] = await stack.wait_for_calls(1, caller=citizen, timeout=30)
    detail = await stack.call_detail(placed["call_id"])
    assert row["id"] == placed["call_id"] and detail["direction"] == "click_to_dial"
    types = [e["type"] for e in detail["timeline"]]
    for step in ("agent_ringing", "outbound_dialing", "outbound_answered", "bridged", "talk_started", "ended"):
        assert step in types, types
    recordings = await api(stack, "GET", f"/recordings?call_id={placed['call_id']}")
    assert recordings["items"], recordings
    linked = await api(stack, "GET", f"/recordings?ticket_id={ticket['id']}")
    assert [r["call_id"] for r in linked["items"]] == [placed["call_id"]]
