"""T-5..T-8, C-1, C-2 through a real Asterisk: citizens (SIPp UAC) reach agents (SIPp phones that
register, ring and answer) through the shipped menu and the daemon's queues.

Each journey starts the daemon with a queues file of its own (short timers) and logs its agents in
through the API, as agents do from the console.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callcore.prompts.synth import ensure_prompt
from callcore.queues.speech import agent_intro_text
from harness import heard, sipp
from harness.menus import SHIPPED, always_open
from harness.phones import AgentPhone, Answer, NeverAnswer, wait_contact
from harness.stack import Stack


def queues_yaml(members: list[str], **overrides: Any) -> str:
    q = {"name": "general", "display_name": "综合服务", "strategy": "linear", "ring_timeout": 6, "retry_delay": 1,
         "wrap_up": 2, "max_wait": 120, "on_max_wait": "fallback", "announce_every": 8,
         "members": [{"agent": a, "penalty": 0} for a in members], **overrides}
    complaint = {**q, "name": "complaint", "display_name": "投诉举报"}
    return json.dumps({"queues": [q, complaint]}, ensure_ascii=False)  # JSON is YAML


@pytest.fixture
async def queue_daemon(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    ivr_dir = tmp_path / "ivr"
    ivr_dir.mkdir()
    (ivr_dir / "main.yaml").write_text(always_open(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    stack.env["CALLCORE_IVR_DIR"] = str(ivr_dir)
    stack.env["CALLCORE_FLOW"] = "ivr"
    stack.env["CALLCORE_QUEUES_FILE"] = str(tmp_path / "queues.yaml")
    try:
        yield stack
    finally:
        await stack.stop_daemon()
        # Callers a failed journey left parked must not walk into the next journey's daemon.
        await stack.cli("channel request hangup all")
        for key in ("CALLCORE_IVR_DIR", "CALLCORE_QUEUES_FILE"):
            stack.env.pop(key, None)
        stack.env["CALLCORE_FLOW"] = "welcome"


async def start(stack: Stack, tmp_path: Path, members: list[str], **overrides: Any) -> None:
    Path(stack.env["CALLCORE_QUEUES_FILE"]).write_text(queues_yaml(members, **overrides), encoding="utf-8")
    await stack.stop_daemon()
    await stack.start_daemon()


async def agent(stack: Stack, number: str) -> str:
    """The agent's SIP password (created once per Asterisk session; 3xxx numbers are these journeys'
    own: other journeys of the session rotate their agents' passwords)."""
    if number not in stack.agent_passwords:
        await stack.add_agent(number, f"坐席{number}")
    return stack.agent_passwords[number]


async def api(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.request(method, stack.api + path, json=body) as r:
            data = await r.json()
            assert r.status < 400, (method, path, r.status, data)
            return data


async def log_in(stack: Stack, *numbers: str) -> None:
    """Logs the agents in and waits until the daemon knows their phones are registered."""
    for n in numbers:
        state = await api(stack, "GET", f"/agents/{n}/state")
        if state["status"] == "logged_out":
            await api(stack, "POST", f"/agents/{n}/login")
    deadline = time.monotonic() + 30
    while True:
        states = {n: await api(stack, "GET", f"/agents/{n}/state") for n in numbers}
        if all(s["registered"] and s["status"] == "available" for s in states.values()):
            return
        assert time.monotonic() < deadline, states
        await asyncio.sleep(0.3)


async def waiting(stack: Stack, n: int) -> dict[str, Any]:
    """The general queue on the wallboard once ``n`` callers wait in it (polled, 30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        board = await api(stack, "GET", "/wallboard")
        [general] = [q for q in board["queues"] if q["name"] == "general"]
        if general["waiting"] == n:
            return dict(general)
        assert time.monotonic() < deadline, (n, board)
        await asyncio.sleep(0.3)


@dataclass(frozen=True)
class Channel:
    name: str
    app: str
    caller: str
    bridge: str


async def asterisk_holds(stack: Stack, holds: Callable[[list[Channel]], bool], what: str, timeout: float = 10) -> None:
    """Polls Asterisk's own channel list (``core show channels concise``: name!context!exten!priority!
    state!application!data!caller id!account!peer account!AMA flags!duration!bridge!unique id) until
    ``holds`` is true of it."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [line.split("!") for line in (await stack.cli("core show channels concise")).splitlines()]
        chans = [Channel(r[0], r[5], r[7], r[12]) for r in rows if len(r) >= 14]
        if holds(chans):
            return
        assert time.monotonic() < deadline, f"Asterisk never held {what}: {chans}"
        await asyncio.sleep(0.3)


def events(detail: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in detail["timeline"] if e["type"] == type_]


def at(detail: dict[str, Any], type_: str) -> float:
    from datetime import datetime

    stamp = next(e["at"] for e in detail["timeline"] if e["type"] == type_)
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def feed(stack: Stack, number: str, into: list[tuple[float, dict[str, Any]]], ready: asyncio.Event) -> None:
    """An agent's live feed as the console opens it; every message with the wall time it arrived."""
    headers = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.ws_connect(f"{stack.api}/agents/{number}/events") as ws:
            ready.set()
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    into.append((time.time(), json.loads(msg.data)))


async def test_a_caller_keys_1_and_talks_to_an_agent_after_hearing_the_agent_number(
        queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    p1, p2 = await agent(stack, "3001"), await agent(stack, "3002")
    await start(stack, tmp_path, ["3001", "3002"])
    async with AgentPhone(stack.sip, "3001", p1, workdir=tmp_path / "a1", behaviour=NeverAnswer()) as slow, \
            AgentPhone(stack.sip, "3002", p2, workdir=tmp_path / "a2", behaviour=Answer(after_seconds=1.0, speak=True)) as phone:
        await wait_contact(stack.cli, "3001")
        await wait_contact(stack.cli, "3002")
        await log_in(stack, "3001", "3002")
        pops: list[tuple[float, dict[str, Any]]] = []
        opened = asyncio.Event()
        reader = asyncio.ensure_future(feed(stack, "3002", pops, opened))
        await asyncio.wait_for(opened.wait(), 10)
        try:
            steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(24_000), sipp.HangUp()]
            result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13951112222",
                                     caller_name="张三", timeout_s=60, hear=True)
            assert result.ok, result.output
            [row] = await stack.wait_for_calls(1, caller="13951112222", timeout=30)
        finally:
            reader.cancel()
        calls = await phone.wait_calls(1)
        assert not slow.calls() or all(c.ended for c in slow.calls())
    detail = await stack.call_detail(row["id"])
    # The slow phone rang first (linear), ran out its ring timeout, then the next agent answered.
    rung = [(d["agent"]) for d in events(detail, "agent_ringing")]
    assert rung[:2] == ["3001", "3002"], detail["timeline"]
    ended = {d["agent"]: d["reason"] for d in events(detail, "agent_ring_ended")}
    assert ended == {"3001": "no_answer", "3002": "answered"}
    # The agent's phone showed the caller's number while it rang.
    assert calls[0].caller == "13951112222"
    # The screen pop reached the agent's WebSocket before the agent answered.
    popped = [(t, m) for t, m in pops if m.get("kind") == "screen_pop"]
    assert popped and popped[0][1]["call_id"] == row["id"]
    assert popped[0][1]["card"]["caller_number"] == "13951112222"
    assert popped[0][0] < at(detail, "agent_answered")
    # The caller heard the agent's number before the conversation.
    [intro] = [d for d in events(detail, "announcement") if d["kind"] == "agent_number"]
    assert intro["text"] == agent_intro_text("3002") == "三零零二号话务员为您服务。"
    # ...and the announcement's audio reached the caller whole and at its level; the one of the agent who
    # rang first (三零零幺号…, one syllable apart) is not what it heard. After it, the agent's voice (its
    # phone speaks sip-tester's sample from its answer on; Asterisk passes it only once they are bridged).
    assert result.heard is not None
    [said] = heard.check(result.heard, [heard.Prompt.of(intro["text"], stack.settings.sounds_dir, name="3002's intro")])
    assert heard.speech_heard(result.heard, after=said.end) > 0.5
    await ensure_prompt(agent_intro_text("3001"), stack.settings.sounds_dir)
    with pytest.raises(heard.NotHeard, match="not heard"):
        heard.check(result.heard, [heard.Prompt.of(agent_intro_text("3001"), stack.settings.sounds_dir)])
    types = [e["type"] for e in detail["timeline"]]
    for before, after in (("queue_entered", "agent_ringing"), ("agent_answered", "announcement"),
                          ("announcement", "bridged"), ("bridged", "talk_started"), ("talk_started", "talk_ended"),
                          ("talk_ended", "ended")):
        assert types.index(before) < len(types) - 1 - types[::-1].index(after), (before, after, types)
    [talk_end] = events(detail, "talk_ended")
    assert (talk_end["agent"], talk_end["by"]) == ("3002", "caller")
    assert (detail["outcome"], detail["agent"], detail["queue"]) == ("answered", "3002", "general")
    state = await api(stack, "GET", "/agents/3001/state")
    assert state["missed_total"] >= 1


async def test_an_agent_who_hangs_up_during_the_agent_number_is_not_rung_again_at_once(
        queue_daemon: Stack, tmp_path: Path) -> None:
    """3001 answers and lets the call go while the caller hears its number: the caller waits on in the
    same place and the next agent takes the call; 3001 is not rung again for it at once."""
    stack = queue_daemon
    p1, p2 = await agent(stack, "3001"), await agent(stack, "3002")
    await start(stack, tmp_path, ["3001", "3002"], retry_delay=5)
    async with AgentPhone(stack.sip, "3001", p1, workdir=tmp_path / "a1",
                          behaviour=Answer(after_seconds=0.5, talk_seconds=0.5)) as quitter, \
            AgentPhone(stack.sip, "3002", p2, workdir=tmp_path / "a2", behaviour=Answer(after_seconds=1.0)) as phone:
        await wait_contact(stack.cli, "3001")
        await wait_contact(stack.cli, "3002")
        await log_in(stack, "3001", "3002")
        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(20_000), sipp.HangUp()]
        result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13951114444", timeout_s=60)
        assert result.ok, result.output
        [row] = await stack.wait_for_calls(1, caller="13951114444", timeout=30)
        await phone.wait_calls(1)
        assert len(quitter.calls()) == 1
    detail = await stack.call_detail(row["id"])
    rung = [d["agent"] for d in events(detail, "agent_ringing")]
    assert rung == ["3001", "3002"], detail["timeline"]
    assert [d["agent"] for d in events(detail, "agent_answered")] == ["3001", "3002"]
    assert (detail["outcome"], detail["agent"]) == ("answered", "3002")


async def test_paused_logged_out_and_unregistered_agents_are_never_rung_and_a_caller_who_gives_up_is_abandoned(
        queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    for n in ("3003", "3005", "3006"):
        await agent(stack, n)
    await start(stack, tmp_path, ["3003", "3005", "3006"])
    async with AgentPhone(stack.sip, "3005", stack.agent_passwords["3005"], workdir=tmp_path / "a5") as paused, \
            AgentPhone(stack.sip, "3006", stack.agent_passwords["3006"], workdir=tmp_path / "a6") as absent:
        await wait_contact(stack.cli, "3005")
        await wait_contact(stack.cli, "3006")
        await log_in(stack, "3005")
        await api(stack, "POST", "/agents/3005/pause", {"reason": "培训"})
        # 3006 is registered but never logged in; 3003 is logged in with no phone registered: the
        # queue is staffed, and nobody can be rung.
        await api(stack, "POST", "/agents/3003/login")
        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(16_000), sipp.HangUp()]
        result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13951113333", timeout_s=40)
        assert result.ok, result.output
        [row] = await stack.wait_for_calls(1, caller="13951113333", timeout=30)
        assert paused.calls() == [] and absent.calls() == []
    detail = await stack.call_detail(row["id"])
    assert events(detail, "agent_ringing") == []
    [left] = events(detail, "queue_left")
    assert left["reason"] == "caller_hangup" and left["position"] == 1 and left["waited"] > 5
    # While waiting the caller heard a position announcement between the music.
    assert [d["position"] for d in events(detail, "announcement") if d["kind"] == "position"][:1] == [1]
    assert (detail["outcome"], detail["loss_stage"], detail["position"]) == ("abandoned_in_queue", "queue", 1)
    for n in ("3003", "3005"):
        await api(stack, "POST", f"/agents/{n}/logout")


async def test_a_repeat_caller_with_an_open_ticket_is_served_before_an_earlier_caller(
        queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    password = await agent(stack, "3007")
    await start(stack, tmp_path, ["3007"], announce_every=0)
    await api(stack, "POST", "/tickets", {"category": "help", "content": "路灯不亮", "phone": "13911115552"})
    await api(stack, "POST", "/agents/3007/login")  # no phone yet: both callers wait
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.ExpectHangup(90_000)]
    plain = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "c1", caller="13911115551", timeout_s=100))
    await waiting(stack, 1)  # the plain caller is in line first
    repeat = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "c2", caller="13911115552", timeout_s=100))
    general = await waiting(stack, 2)
    # The wallboard masks the callers' numbers and shows the repeat caller first.
    assert [c["caller"] for c in general["callers"]] == ["139****5552", "139****5551"]
    async with AgentPhone(stack.sip, "3007", password, workdir=tmp_path / "a7",
                          behaviour=Answer(after_seconds=0.5, talk_seconds=5)) as phone:
        r1, r2 = await plain, await repeat
        assert r1.ok and r2.ok, (r1.output, r2.output)
        calls = await phone.wait_calls(2, timeout=30)
    await api(stack, "POST", "/agents/3007/logout")
    assert calls[0].caller == "13911115552"
    [rr] = await stack.wait_for_calls(1, caller="13911115552", timeout=30)
    [rp] = await stack.wait_for_calls(1, caller="13911115551", timeout=30)
    detail, other = await stack.call_detail(rr["id"]), await stack.call_detail(rp["id"])
    assert events(detail, "queue_entered")[0]["priority"] == 5
    assert at(detail, "agent_answered") < at(other, "agent_answered")
    assert detail["outcome"] == other["outcome"] == "answered"


async def test_waiting_callers_keep_their_order_across_a_daemon_restart(queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    password = await agent(stack, "3004")
    await start(stack, tmp_path, ["3004"], announce_every=0)
    # Logged in with no phone registered yet: callers enter the queue and wait.
    await api(stack, "POST", "/agents/3004/login")
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.ExpectHangup(90_000)]
    first = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "c1", caller="13911114441", timeout_s=100))
    await waiting(stack, 1)
    second = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "c2", caller="13911114442", timeout_s=100))
    await waiting(stack, 2)
    await stack.stop_daemon()  # SIGTERM: waiting callers stay parked with their music
    # Asterisk holds both still, in the Stasis app, with the daemon gone.
    await asterisk_holds(stack, lambda chans: {c.caller for c in chans if c.app == "Stasis"} >= {"13911114441", "13911114442"},
                         "both callers parked in Stasis")
    await stack.start_daemon()
    async with AgentPhone(stack.sip, "3004", password, workdir=tmp_path / "a4",
                          behaviour=Answer(after_seconds=0.5, talk_seconds=5)) as phone:
        r1, r2 = await first, await second
        assert r1.ok, r1.output
        assert r2.ok, r2.output
        await phone.wait_calls(2, timeout=30)
    await api(stack, "POST", "/agents/3004/logout")
    [ra] = await stack.wait_for_calls(1, caller="13911114441", timeout=30)
    [rb] = await stack.wait_for_calls(1, caller="13911114442", timeout=30)
    a, b = await stack.call_detail(ra["id"]), await stack.call_detail(rb["id"])
    assert at(a, "agent_answered") < at(b, "agent_answered")
    for d in (a, b):
        entries = events(d, "queue_entered")
        assert len(entries) == 2 and entries[1].get("resumed") and entries[1]["seq"] == entries[0]["seq"], d["timeline"]
        assert d["outcome"] == "answered"


async def test_a_caller_past_the_maximum_wait_is_told_and_handed_to_the_fallback(queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    await agent(stack, "3008")
    await start(stack, tmp_path, ["3008"], max_wait=6, announce_every=0)
    await api(stack, "POST", "/agents/3008/login")  # staffed, but no phone: nobody answers
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(20_000), sipp.HangUp()]
    result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13911116666", timeout_s=40)
    await api(stack, "POST", "/agents/3008/logout")
    assert result.ok, result.output
    [row] = await stack.wait_for_calls(1, caller="13911116666", timeout=30)
    detail = await stack.call_detail(row["id"])
    [left] = events(detail, "queue_left")
    assert left["reason"] == "timeout" and 6 <= left["waited"] < 8
    # The apology, then the dialplan's fallback (its own apology and a voicemail).
    assert "queue_unavailable" in [d["prompt"] for d in events(detail, "prompt_started")]
    assert events(detail, "handed_off")[0]["label"] == "fallback"
    assert (detail["outcome"], detail["loss_stage"]) == ("queue_timeout", "timeout")


async def test_a_conversation_goes_on_across_a_daemon_restart(queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    password = await agent(stack, "3009")
    await start(stack, tmp_path, ["3009"], announce_every=0)
    async with AgentPhone(stack.sip, "3009", password, workdir=tmp_path / "a9",
                          behaviour=Answer(after_seconds=0.5, talk_seconds=14)) as phone:
        await wait_contact(stack.cli, "3009")
        await log_in(stack, "3009")
        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.ExpectHangup(60_000)]
        caller = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "c", caller="13951119999",
                                                 timeout_s=70))
        [row] = await stack.wait_for_calls(1, status="active", caller="13951119999", timeout=20)
        deadline = time.monotonic() + 20
        while "talk_started" not in [e["type"] for e in (await stack.call_detail(row["id"]))["timeline"]]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)
        await stack.stop_daemon()  # SIGTERM while they talk: the bridge stays up
        bridge = f"call-{row['id']}"
        await asterisk_holds(stack, lambda chans: {c.caller for c in chans if c.bridge == bridge} >= {"13951119999"}
                             and any(c.name.startswith("PJSIP/3009-") for c in chans if c.bridge == bridge),
                             f"the caller and agent 3009 in bridge {bridge} with the daemon gone")
        await stack.start_daemon()
        result = await caller
        assert result.ok, result.output
        [call] = await phone.wait_calls(1, timeout=30)
    await api(stack, "POST", "/agents/3009/logout")
    # The agent hung up after its whole 14 s (the first ~3 s are the agent-number announcement):
    # the conversation was never cut by the restart.
    assert call.ended
    [done] = await stack.wait_for_calls(1, caller="13951119999", timeout=30)
    detail = await stack.call_detail(done["id"])
    [talk_end] = events(detail, "talk_ended")
    assert talk_end["by"] == "agent"
    assert at(detail, "ended") - at(detail, "talk_started") >= 9
    assert detail["outcome"] == "answered"
