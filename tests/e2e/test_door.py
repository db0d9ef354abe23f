"""C-1 / C-2 at the door: calls that end before the Stasis app are in the store too.

A caller who hangs up while the dialplan routes the call (before Stasis) is a call lost in the IVR;
a call over the hotline's channel limit hears the busy message and is stored as refused, and so is
a call Asterisk itself refuses (its ``maxcalls``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from callcore.asterisk import process
from callcore.asterisk.render import render
from callcore.prompts.system import system_prompts
from harness import sipp
from harness.stack import Stack, free_port
from tests.e2e.waiting import asterisk_log, eventually, log_size, stored_detail
from tests.polling import until

# Asterisk modules the door's dialplan needs beyond the others': GROUP()/GROUP_COUNT() for the limit.
LIMIT_MODULES = ("func_groupcount.so",)


class StalledRouting:
    """A FastAGI server, on the port the dialplan asks for the routing step, that never answers: a
    call stays in that step (answered, before Stasis) until the caller hangs up. Asterisk then sends
    ``HANGUP`` and the server lets go."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections = 0
        self.hangups = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> StalledRouting:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            async with asyncio.timeout(30):
                while line := await reader.readline():
                    if line.strip() == b"HANGUP":
                        self.hangups += 1
                        break
        except TimeoutError:
            pass
        finally:
            writer.close()


async def _detail(stack: Stack, caller: str) -> dict[str, Any]:
    [row] = await stack.wait_for_calls(1, caller=caller)
    return await stack.call_detail(row["id"])


def _types(detail: dict[str, Any]) -> list[str]:
    return [e["type"] for e in detail["timeline"]]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_caller_hanging_up_during_routing_is_stored_as_lost_in_the_ivr(stack: Stack, sipp_dir: Path) -> None:
    # The daemon serves its routing step elsewhere; the dialplan's port is held by a server that never answers.
    await stack.stop_daemon()
    async with StalledRouting(int(stack.env["CALLCORE_AGI_PORT"])) as routing:
        try:
            await stack.start_daemon(CALLCORE_AGI_PORT=str(free_port()))
            # The dialplan answers (waiting up to 500 ms for media), then asks for routing; the caller leaves then.
            result = await sipp.call(stack.sip, [sipp.Pause(2000), sipp.HangUp()], workdir=sipp_dir,
                                     caller="13955550001", caller_name="王五")
            assert result.ok, result.output
            await until(lambda: routing.hangups == 1, "Asterisk telling the routing step the caller left")
            assert routing.connections == 1
            detail = await _detail(stack, "13955550001")
        finally:
            await stack.stop_daemon()
    assert _types(detail) == ["arrived", "answered", "ended"]
    arrived = detail["timeline"][0]["data"]
    assert arrived["via"] == "door" and arrived["channel_id"] == detail["channel_id"] != ""
    assert (detail["caller_name"], detail["dialed"], detail["direction"]) == ("王五", "96881", "inbound")
    assert (detail["hangup_by"], detail["hangup_cause"]) == ("caller", 16)
    assert (detail["outcome"], detail["loss_stage"]) == ("lost_in_ivr", "ivr")
    # Asterisk's times: the caller hung up about two seconds after arriving.
    assert 1.5 < (_at(detail["ended_at"]) - _at(detail["arrived_at"])).total_seconds() < 3.5


async def test_a_call_the_fallback_took_while_ari_was_away_is_one_call_with_its_message(stack: Stack, sipp_dir: Path) -> None:
    caller = "13955550002"
    await stack.stop_daemon()
    try:
        # The daemon's AMI is up, its ARI is not (pointed at a closed port): Stasis() fails at once and
        # the dialplan's fallback apologises and takes a message.
        await stack.start_daemon(wait=False, CALLCORE_ASTERISK_HTTP_PORT=str(free_port()))
        await stack.wait_health(lambda h: h["components"].get("ami") and h["components"].get("ari") is False)
        result = await sipp.call(stack.sip, [sipp.Pause(14_000), sipp.Speak(4000), sipp.HangUp()], workdir=sipp_dir,
                                 caller=caller)
        assert result.ok, result.output
        detail = await _detail(stack, caller)
        assert _types(detail) == ["arrived", "answered", "handed_off", "ended"]
        assert detail["timeline"][2]["data"]["label"] == "fallback"
        # Back with its ARI, the daemon imports the message: it joins this call, no second call is made.
        await stack.stop_daemon()
        await stack.start_daemon()
        detail = await stored_detail(stack, detail["id"], lambda d: "voicemail_left" in _types(d),
                                     "the imported message joining the call", timeout=15)
        calls = await stack.calls(caller=caller)
    finally:
        await stack.stop_daemon()
    # In time order: the message was left before the caller hung up.
    assert _types(detail) == ["arrived", "answered", "handed_off", "voicemail_left", "ended"]
    assert len(calls) == 1
    assert detail["outcome"] == "left_by_choice"


# -- a stack of its own: at most one hotline call, and Asterisk runs at most two dialplans --------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Asterisk with a channel limit of 1 (the dialplan refuses the second call) and ``maxcalls`` 2
    (Asterisk refuses a third while the second hears its busy message)."""
    s = Stack.create(tmp_path_factory.mktemp("limited"), CALLCORE_ASTERISK_CHANNEL_LIMIT="1")

    async def start() -> None:
        conf = await render(s.settings)
        conf.write_text(re.sub(r"(?m)^maxcalls = \d+$", "maxcalls = 2", conf.read_text()))
        await process.start(conf, s.run_dir)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, start()).result()
        try:
            for module in LIMIT_MODULES:
                shown = pool.submit(asyncio.run, s.cli(f"module show like {module}")).result()
                assert module in shown, f"{module} is not loaded: asterisk-conf/modules.conf.j2 must load it\n{shown}"
            yield s
        finally:
            pool.submit(asyncio.run, s.stop_asterisk()).result()


@pytest.fixture
async def limited_daemon(limited: Stack) -> AsyncIterator[Stack]:
    await limited.start_daemon()
    yield limited
    await limited.stop_daemon()


async def _busy_prompt(stack: Stack) -> str:
    return str((await system_prompts(stack.settings.sounds_dir))["busy"])


async def test_a_call_over_the_channel_limit_hears_the_busy_message_and_is_stored_as_refused(
    limited_daemon: Stack, sipp_dir: Path,
) -> None:
    stack = limited_daemon
    since = log_size(stack)
    first = asyncio.create_task(
        sipp.call(stack.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir / "first", caller="13966660001"))
    await stack.wait_for_calls(1, status="active", caller="13966660001")
    # Refused before any answer: the message as early media (183), then 503.
    second = await sipp.call(stack.sip, [sipp.Refused(503, early_media=True)], workdir=sipp_dir / "second",
                             caller="13966660002")
    inside = await first
    assert second.ok, second.output
    assert inside.ok, inside.output  # the call inside the limit was not disturbed

    detail = await _detail(stack, "13966660002")
    assert _types(detail) == ["arrived", "refused", "ended"]
    assert detail["timeline"][1]["data"] == {"reason": "channel_limit"}
    assert (detail["hangup_by"], detail["hangup_cause"]) == ("system", 34)
    assert (detail["outcome"], detail["loss_stage"]) == ("refused", "refused")
    assert detail["answered_at"] is None
    # The busy message played on the channel, to its end (about 5.6 s), before the refusal.
    busy = await _busy_prompt(stack)
    assert re.search(rf"<PJSIP/[^>]+> Playing '{re.escape(busy)}", asterisk_log(stack, since))
    assert (_at(detail["ended_at"]) - _at(detail["arrived_at"])).total_seconds() > 5.0
    first_detail = await _detail(stack, "13966660001")
    assert "refused" not in _types(first_detail) and first_detail["timeline"][0]["data"].get("via") != "door"


async def test_a_call_asterisk_refuses_itself_is_stored_as_refused_by_overload(limited_daemon: Stack, sipp_dir: Path) -> None:
    stack = limited_daemon
    since = log_size(stack)
    busy = await _busy_prompt(stack)
    first = asyncio.create_task(
        sipp.call(stack.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir / "first", caller="13977770001"))
    await stack.wait_for_calls(1, status="active", caller="13977770001")
    second = asyncio.create_task(sipp.call(stack.sip, [sipp.Refused(503, early_media=True)],
                                           workdir=sipp_dir / "second", caller="13977770002"))
    # Two dialplans run (the call in the app, the one hearing the busy message): Asterisk refuses a third.
    await eventually(lambda: busy in asterisk_log(stack, since), "the second call hearing the busy message", timeout=10)
    third = await sipp.call(stack.sip, [sipp.Refused(503)], workdir=sipp_dir / "third", caller="13977770003")
    results = await asyncio.gather(first, second)
    assert third.ok, third.output
    assert all(r.ok for r in results), [r.output for r in results]

    assert "Maximum call limit of 2 calls exceeded" in asterisk_log(stack, since)
    detail = await _detail(stack, "13977770003")
    assert _types(detail) == ["arrived", "refused", "ended"]
    assert detail["timeline"][1]["data"] == {"reason": "overload"}
    assert (detail["hangup_by"], detail["hangup_cause"], detail["hangup_cause_text"]) == (
        "system", 42, "Switching equipment congestion")
    assert detail["outcome"] == "refused"
    assert (await _detail(stack, "13977770002"))["timeline"][1]["data"] == {"reason": "channel_limit"}
