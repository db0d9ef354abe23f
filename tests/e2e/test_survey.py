"""T-14 through a real Asterisk: a citizen (SIPp UAC) keys 1 into the general queue, an agent phone
(SIPp) answers and hangs up after a few seconds, the caller stays on the line for the survey and
keys a rating after the prompt began; the rating is on the call's timeline, in the survey store,
in the agent's figures and in the history of the ticket created for the call.

Agents 6001–6009 and callers 13960… are this file's own in the session's shared Asterisk and store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from harness import sipp
from harness.phones import AgentPhone, Answer, TrunkPhone, wait_contact
from harness.stack import Stack
from tests.e2e.test_queues import agent, api, events, log_in, queue_daemon, start
from tests.e2e.waiting import eventually

__all__ = ["queue_daemon"]  # the fixture, used by name

CALLER = "13960001001"


@pytest.fixture
async def survey_daemon(queue_daemon: Stack) -> AsyncIterator[Stack]:
    """The queue journeys' daemon with the survey on (the harness keeps it off for the others)."""
    queue_daemon.env["CALLCORE_SURVEYS_ENABLED"] = "true"
    try:
        yield queue_daemon
    finally:
        queue_daemon.env["CALLCORE_SURVEYS_ENABLED"] = "false"


async def log_out(stack: Stack, number: str, timeout: float = 30) -> None:
    """Logs the agent out once no call holds it (another journey's callback task may be ringing it)."""
    headers = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async def logged_out() -> bool:
            async with s.post(f"{stack.api}/agents/{number}/logout") as r:
                if r.status == 409:  # a call holds the agent: not yet
                    return False
                assert r.status < 400, await r.text()
                return True
        await eventually(logged_out, f"agent {number} logged out", timeout=timeout)


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def test_the_survey_key_pressed_after_the_agent_hangs_up_is_stored(survey_daemon: Stack, tmp_path: Path) -> None:
    stack = survey_daemon
    password = await agent(stack, "6001")
    await start(stack, tmp_path, ["6001"], announce_every=0)
    # The agent's phone answers, talks ~6 s (the first ~3 s are the agent-number announcement) and hangs up.
    async with AgentPhone(stack.sip, "6001", password, workdir=tmp_path / "a1",
                          behaviour=Answer(after_seconds=0.5, talk_seconds=6)) as phone:
        await wait_contact(stack.cli, "6001")
        await log_in(stack, "6001")
        # The caller keys 1 (general queue), stays on after the agent hung up, and keys 2 (满意) while
        # the survey prompt plays (any earlier key would be a key of the conversation), then is hung up.
        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(17_000), sipp.Keys("2"),
                                  sipp.ExpectHangup(25_000)]
        caller = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller=CALLER,
                                                 caller_name="李四", timeout_s=70))
        # The agent creates the call's ticket during the conversation, as from the console.
        [active] = await stack.wait_for_calls(1, status="active", caller=CALLER, timeout=20)
        ticket = await api(stack, "POST", "/tickets", {"category": "help", "content": "路灯不亮，请派人维修",
                                                       "phone": CALLER, "call_id": active["id"]})
        result = await caller
        assert result.ok, result.output
        # Only this caller's call: the dialer may ring the agent for other journeys' callback tasks too.
        [call] = [c for c in await phone.wait_calls(1, timeout=30) if c.caller == CALLER]
        assert call.outcome == "bye_sent", call  # the agent hung up first
    await log_out(stack, "6001")
    [row] = await stack.wait_for_calls(1, caller=CALLER, timeout=30)
    detail = await stack.call_detail(row["id"])
    types = [e["type"] for e in detail["timeline"]]
    [talk_end] = events(detail, "talk_ended")
    assert talk_end["by"] == "agent"
    # The survey came after the conversation and before the end: prompt, the key, the rating, thanks.
    assert types.index("talk_ended") < types.index("survey_rated") < types.index("ended"), types
    prompts = [(e["at"], e["data"]["prompt"]) for e in detail["timeline"] if e["type"] == "prompt_started"]
    assert [p for _, p in prompts if p.startswith("survey_")] == ["survey_prompt", "survey_thanks"], prompts
    asked_at = next(stamp(at) for at, p in prompts if p == "survey_prompt")
    keyed = [e for e in detail["timeline"] if e["type"] == "dtmf" and e["data"]["digit"] == "2"]
    assert keyed and stamp(keyed[-1]["at"]) >= asked_at
    [rated] = events(detail, "survey_rated")
    assert (rated["rating"], rated["satisfaction"], rated["kind"], rated["agent"], rated["queue"]) == \
        (2, "satisfied", "inbound", "6001", "general")
    assert detail["hangup_by"] == "agent" and detail["outcome"] == "answered"
    # The store holds it, linked to the call, the agent and the ticket; numbers masked.
    ratings = await stack.get("/surveys", call_id=row["id"])
    assert ratings["total"] == 1
    [stored] = ratings["items"]
    assert (stored["rating"], stored["agent"], stored["queue"], stored["ticket_id"]) == \
        (2, "6001", "general", ticket["id"])
    assert stored["caller_number"] == "139****1001"
    assert (await stack.get("/surveys", ticket_id=ticket["id"]))["total"] == 1
    # The ticket's history has the rating, taken as a step of the ticket service.
    history = (await stack.get(f"/tickets/{ticket['id']}"))["history"]
    noted = [h for h in history if h["action"] == "note" and h["data"].get("call_id") == row["id"]]
    assert noted and noted[0]["data"]["rating"] == 2 and noted[0]["note"] == "来电满意度调查：满意（按键2）"
    # And the agent's figures count it.
    now = datetime.now(timezone.utc)
    figures = await stack.get("/figures/calls", by="agent", **{"from": (now - timedelta(hours=1)).isoformat(),
                                                               "to": (now + timedelta(minutes=1)).isoformat()})
    [mine] = [b for b in figures["buckets"] if b["key"] == "6001"]
    assert mine["ratings"] >= 1 and mine["average_rating"] is not None


async def test_a_sampled_ticket_gets_a_survey_call_and_the_keyed_rating_rates_it(
        queue_daemon: Stack, tmp_path: Path) -> None:
    """W-12: the automatic survey call through the outbound trunk (a SIPp server plays the citizen's
    phone, answers and keys 3); the ticket is rated basically satisfied, and the call is linked to it."""
    stack = queue_daemon
    citizen = "13960002001"
    await start(stack, tmp_path, [])
    ticket = await api(stack, "POST", "/tickets", {"category": "help", "content": "井盖缺失", "phone": citizen})
    await api(stack, "POST", f"/tickets/{ticket['id']}/actions", {"action": "answer", "reply": "已转交养护单位处理"})
    await api(stack, "POST", f"/tickets/{ticket['id']}/actions", {"action": "sample"})
    env = {"CALLCORE_SURVEYS_CALLS": "true", "CALLCORE_SURVEYS_CALL_FROM_HOUR": "0",
           "CALLCORE_SURVEYS_CALL_UNTIL_HOUR": "24"}
    async with TrunkPhone(stack.trunk_port, workdir=tmp_path / "trunk",
                          behaviour=Answer(after_seconds=0.5, key="3", key_after_seconds=4.0)) as citizens:
        stack.env.update(env)
        try:
            await stack.stop_daemon()
            await stack.start_daemon()  # the job looks for sampled tickets at once
            [called] = await citizens.wait_calls(1, timeout=60)
        finally:
            for key in env:
                stack.env.pop(key, None)
    assert called.to_user == citizen and called.answered_at is not None

    async def rated_ticket() -> dict[str, Any] | None:
        now = dict(await api(stack, "GET", f"/tickets/{ticket['id']}"))
        return now if now["satisfaction"] else None
    rated = await eventually(rated_ticket, "the keyed rating on the ticket")
    assert rated["satisfaction"] == "basically_satisfied", rated
    assert [h for h in rated["history"] if h["action"] == "rate"]
    surveys = await api(stack, "GET", f"/surveys?ticket_id={ticket['id']}")
    [rating] = surveys["items"]
    assert (rating["rating"], rating["kind"]) == (3, "outbound"), rating
    assert rating["call_id"] in rated["calls"]
    call = await stack.call_detail(rating["call_id"])
    assert call["direction"] == "survey" and [e for e in call["timeline"] if e["type"] == "survey_rated"]
