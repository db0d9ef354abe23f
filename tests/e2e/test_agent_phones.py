"""Agent phones as real SIP peers: SIPp registers to the agents' PJSIP endpoints and answers Asterisk.

The foundation of the queue journeys: here Asterisk dials the agent itself (an ARI originate into
an app of the test's own), so the phones are proven without the daemon. Each agent is created in
the store with a SIP password of its own (``Stack.add_agent``): a wrong one is refused, a new one
replaces the old at once, a deactivated agent's endpoint is gone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callcore.ami.client import AmiClient
from callcore.asterisk import process
from callcore.asterisk.quirks import quirks
from callcore.queues.directory import AgentDirectory
from callcore.store.db import Database
from harness import phones
from harness.stack import Stack
from tests.e2e.waiting import eventually


class Ari:
    """Asterisk's REST interface with the stack's credentials, and the events of one app of ours."""

    def __init__(self, stack: Stack, http: aiohttp.ClientSession, app: str) -> None:
        self.url = stack.settings.asterisk.ari_url
        self.http = http
        self.app = app
        self.events: list[dict[str, Any]] = []

    async def originate(self, endpoint: str, caller_id: str, *, timeout_s: int = 10) -> str:
        async with self.http.post(
            f"{self.url}/channels",
            params={"endpoint": endpoint, "app": self.app, "callerId": caller_id, "timeout": str(timeout_s)},
        ) as r:
            body = await r.json()
            assert r.status == 200, body
            return str(body["id"])

    async def hang_up(self, channel: str) -> None:
        async with self.http.delete(f"{self.url}/channels/{channel}") as r:
            assert r.status == 204, await r.text()

    async def play(self, channel: str, media: str) -> None:
        async with self.http.post(f"{self.url}/channels/{channel}/play", params={"media": media}) as r:
            assert r.status == 201, await r.text()

    async def variable(self, channel: str, name: str) -> str:
        async with self.http.get(f"{self.url}/channels/{channel}/variable", params={"variable": name}) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["value"])

    async def event(self, kind: str, channel: str, timeout: float = 10) -> dict[str, Any]:
        """The app's first ``kind`` event for ``channel``, once Asterisk has sent it."""
        def check() -> dict[str, Any] | None:
            return next((e for e in self.events if e["type"] == kind and e.get("channel", {}).get("id") == channel), None)
        return await eventually(check, f"{kind} for {channel}", timeout=timeout, every=0.05,
                                detail=lambda: [e["type"] for e in self.events])


@asynccontextmanager
async def ari(stack: Stack) -> AsyncIterator[Ari]:
    ast = stack.settings.asterisk
    app = f"agent-phones-{secrets.token_hex(4)}"
    token = base64.b64encode(f"{ast.ari_user}:{ast.ari_password}".encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http:
        async with http.ws_connect(f"ws://{ast.host}:{ast.http_port}/ari/events?app={app}") as ws:
            client = Ari(stack, http, app)

            async def read() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        client.events.append(json.loads(msg.data))

            reader = asyncio.create_task(read())
            try:
                yield client
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)


async def phone(stack: Stack, number: str, behaviour: phones.Behaviour, workdir: Path) -> phones.AgentPhone:
    """The phone of agent ``number``, with the agent's own password (the agent is created the first time)."""
    password = stack.agent_passwords.get(number) or await stack.add_agent(number, f"话务员{number}")
    return phones.AgentPhone(stack.sip, number, password, workdir=workdir, behaviour=behaviour)


async def endpoints(stack: Stack) -> set[str]:
    """The PJSIP endpoints Asterisk has now (``pjsip list endpoints``)."""
    return set(re.findall(r"^\s*Endpoint:\s+([^/\s]+)", await stack.cli("pjsip list endpoints"), re.M))


async def test_an_agent_phone_registers_and_unregisters(stack: Stack, sipp_dir: Path) -> None:
    async with await phone(stack, "1001", phones.Answer(), sipp_dir) as p:
        [(uri, status)] = await phones.wait_contact(stack.cli, "1001", status="Avail")
        assert uri.startswith(f"sip:1001@127.0.0.1:{p.sip_port}"), uri  # Asterisk dials the phone's own port
        await p.unregister()
        assert await phones.wait_contact(stack.cli, "1001", status=None) == []
        # And it can come back.
        await p.start()
        await phones.wait_contact(stack.cli, "1001", status="Avail")
    assert await phones.wait_contact(stack.cli, "1001", status=None) == []  # leaving the block unregisters
    assert p.calls() == []


async def test_asterisk_dials_the_agent_who_answers_sees_the_caller_and_gets_the_bye(stack: Stack, sipp_dir: Path) -> None:
    async with ari(stack) as a, await phone(stack, "1002", phones.Answer(after_seconds=1.0), sipp_dir) as p:
        await phones.wait_contact(stack.cli, "1002", status="Avail")
        for n, caller in enumerate(["13800001111", "13900002222"], 1):  # one agent, several calls in turn
            channel = await a.originate("PJSIP/1002", f'"Zhang San" <{caller}>')
            await a.event("StasisStart", channel)  # the phone answered
            # Media both ways: Asterisk plays a tone to the phone, which echoes its RTP back.
            await a.play(channel, "tone:440")

            async def received() -> int:
                stats = dict(kv.split("=", 1) for kv in (await a.variable(channel, "CHANNEL(rtcp,all)")).split(";"))
                return int(stats["rxcount"])
            await eventually(received, "Asterisk receiving the phone's RTP", timeout=5, every=0.05)
            await a.hang_up(channel)
            calls = await p.wait_calls(n)
            call = calls[-1]
            assert call.caller == caller and call.from_name == "Zhang San"
            assert call.sent == ["180", "200"] and call.received == ["INVITE", "ACK", "BYE"]
            assert call.outcome == "bye_received"
            assert call.answered_at is not None and call.ended_at is not None
            assert call.answered_at - call.arrived_at >= 0.99  # it rang its second first
        assert [c.caller for c in p.calls()] == ["13800001111", "13900002222"]


async def test_an_agent_phone_hangs_up_itself_after_talking(stack: Stack, sipp_dir: Path) -> None:
    async with ari(stack) as a, await phone(stack, "1003", phones.Answer(after_seconds=0.2, talk_seconds=1.0), sipp_dir) as p:
        await phones.wait_contact(stack.cli, "1003", status="Avail")
        channel = await a.originate("PJSIP/1003", "13800003333")
        await a.event("StasisStart", channel)
        destroyed = await a.event("ChannelDestroyed", channel)
        # Normal clearing: the phone's BYE; Asterisk 22.7+ reports it with no cause (asterisk#1606), which
        # the daemon stores as 16 (quirks.bye_cause_missing).
        assert destroyed["cause"] == 16 or (destroyed["cause"] == 0 and quirks(await process.version(stack.conf)).bye_cause_missing)
        [call] = await p.wait_calls(1)
        assert call.caller == "13800003333"
        assert call.outcome == "bye_sent" and call.received == ["INVITE", "ACK"]
        assert call.answered_at is not None and call.ended_at is not None and call.ended_at - call.answered_at >= 0.99


async def test_a_phone_that_never_answers_rings_until_asterisk_cancels(stack: Stack, sipp_dir: Path) -> None:
    async with ari(stack) as a, await phone(stack, "1004", phones.NeverAnswer(), sipp_dir) as p:
        await phones.wait_contact(stack.cli, "1004", status="Avail")
        channel = await a.originate("PJSIP/1004", "13800004444", timeout_s=2)
        await a.event("ChannelDestroyed", channel)
        assert not [e for e in a.events if e["type"] == "StasisStart"]
        [call] = await p.wait_calls(1)
        assert call.caller == "13800004444"
        assert call.outcome == "cancelled"
        assert call.sent == ["180", "487"] and call.received == ["INVITE", "CANCEL", "ACK"]
        assert call.answered_at is None


async def test_a_rejecting_phone_answers_busy(stack: Stack, sipp_dir: Path) -> None:
    async with ari(stack) as a, await phone(stack, "1005", phones.Reject(), sipp_dir) as p:
        await phones.wait_contact(stack.cli, "1005", status="Avail")
        channel = await a.originate("PJSIP/1005", "13800005555")
        destroyed = await a.event("ChannelDestroyed", channel)
        assert destroyed["cause"] == 17  # user busy
        [call] = await p.wait_calls(1)
        assert call.caller == "13800005555"
        assert call.outcome == "rejected" and call.sent == ["486"] and call.received == ["INVITE", "ACK"]


async def test_an_agent_with_a_wrong_password_is_refused(stack: Stack, sipp_dir: Path) -> None:
    password = await stack.add_agent("1006", "话务员六")
    assert "1006" in await endpoints(stack)  # added while Asterisk runs: the reload brought it in
    intruder = phones.AgentPhone(stack.sip, "1006", password[::-1], workdir=sipp_dir / "wrong")
    with pytest.raises(AssertionError, match="did not register"):
        await intruder.start(timeout=5)
    assert intruder.refused()  # Asterisk answered the credentials with a new challenge
    assert await phones.wait_contact(stack.cli, "1006", status=None) == []
    other = stack.agent_passwords.get("1001") or await stack.add_agent("1001", "话务员1001")
    with pytest.raises(AssertionError, match="did not register"):  # another agent's password is no key either
        await phones.AgentPhone(stack.sip, "1006", other, workdir=sipp_dir / "other").start(timeout=5)
    async with phones.AgentPhone(stack.sip, "1006", password, workdir=sipp_dir / "right"):
        await phones.wait_contact(stack.cli, "1006", status="Avail")


async def test_the_daemons_directory_rotates_and_deactivates_over_ami(stack: Stack, sipp_dir: Path) -> None:
    """What the admin API does, through the daemon's AMI session: the AMI ``Reload`` takes effect."""
    first = await stack.add_agent("1007", "话务员七")
    async with phones.AgentPhone(stack.sip, "1007", first, workdir=sipp_dir / "first"):
        await phones.wait_contact(stack.cli, "1007", status="Avail")
    settings = stack.settings
    ami = AmiClient(settings.asterisk)
    db = Database(settings.database_url)
    await ami.start()
    try:
        assert await ami.wait_connected(10)
        directory = AgentDirectory(db, settings, ami)
        second = (await directory.rotate_password("1007")).password
        old = phones.AgentPhone(stack.sip, "1007", first, workdir=sipp_dir / "old")
        with pytest.raises(AssertionError, match="did not register"):
            await old.start(timeout=5)
        assert old.refused()
        async with phones.AgentPhone(stack.sip, "1007", second, workdir=sipp_dir / "second"):
            await phones.wait_contact(stack.cli, "1007", status="Avail")
        await directory.rename("1007", "王芳")
        assert '"王芳" <1007>' in await stack.cli("pjsip show endpoint 1007")
        await directory.deactivate("1007")
        assert "1007" not in await endpoints(stack)
        with pytest.raises(AssertionError, match="did not register"):
            await phones.AgentPhone(stack.sip, "1007", second, workdir=sipp_dir / "gone").start(timeout=5)
        await directory.reactivate("1007")
        assert "1007" in await endpoints(stack)
    finally:
        await ami.close()
        await db.close()
