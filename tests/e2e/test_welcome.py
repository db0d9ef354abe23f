"""T-1 / C-1: a citizen calls 96881, is answered, hears the welcome, and the store holds the call."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import datetime
from pathlib import Path

from callcore.prompts.system import SYSTEM_PROMPTS
from harness import heard, sipp
from harness.stack import Stack
from tests.polling import until


async def test_welcome_call_is_answered_and_stored_with_its_timeline(daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(daemon.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir, caller="13911112222",
                             caller_name="李四", hear=True)
    assert result.ok, result.output
    # The caller heard the whole welcome, as loud as it was synthesized: the audio that reached it.
    assert result.heard is not None
    heard.check(result.heard, [heard.Prompt.of(SYSTEM_PROMPTS["welcome"], daemon.settings.sounds_dir, name="welcome")])

    [row] = await daemon.wait_for_calls(1, caller="13911112222")
    detail = await daemon.call_detail(row["id"])
    assert detail["caller_number"] == "13911112222"  # whole for the admin token
    assert row["caller_number"] == "139****2222"  # masked in lists
    assert detail["caller_name"] == "李四"
    assert detail["dialed"] == "96881"
    assert detail["hangup_by"] == "system" and (detail["outcome"], detail["loss_stage"]) == ("closed_by_system", "system")
    types = [e["type"] for e in detail["timeline"]]
    assert types == ["arrived", "answered", "prompt_started", "prompt_finished", "hangup_requested", "ended"]
    finished = detail["timeline"][3]
    assert finished["data"]["prompt"] == "welcome"
    # Asterisk's own PlaybackStarted stamp is kept with the prompt, and it lies between the daemon's
    # request and the end of the prompt (stamps in whole milliseconds). How soon after the request the
    # play starts is a latency, measured by the benchmarks (bench/RESULTS.md), not asserted here.
    started = datetime.strptime(finished["data"]["started_at"], "%Y-%m-%dT%H:%M:%S.%f%z")
    started = started.replace(microsecond=started.microsecond // 1000 * 1000)
    requested = datetime.fromisoformat(detail["timeline"][2]["at"].replace("Z", "+00:00"))
    ended_prompt = datetime.fromisoformat(finished["at"].replace("Z", "+00:00"))
    assert requested <= started <= ended_prompt, (requested, started, ended_prompt)
    # UTC with milliseconds.
    assert all(e["at"].endswith("Z") and len(e["at"].split(".")[1]) == 4 for e in detail["timeline"])


async def test_caller_hanging_up_during_the_welcome_is_recorded_as_the_callers_hangup(daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(daemon.sip, [sipp.Pause(1500), sipp.HangUp()], workdir=sipp_dir, caller="13911113333")
    assert result.ok, result.output
    [row] = await daemon.wait_for_calls(1, caller="13911113333")
    detail = await daemon.call_detail(row["id"])
    assert detail["hangup_by"] == "caller"
    assert detail["hangup_cause"] == 16
    assert "prompt_finished" not in [e["type"] for e in detail["timeline"]]


def connected_to(port: int) -> bool:
    """Whether a TCP connection to 127.0.0.1:``port`` is established, from the kernel's table (``/proc/net/tcp``:
    remote address ``0100007F:<port hex>``, state 01)."""
    with open("/proc/net/tcp", encoding="ascii") as fh:
        rows = [line.split() for line in fh.readlines()[1:]]
    return any(row[2] == f"0100007F:{port:04X}" and row[3] == "01" for row in rows)


async def test_live_stream_shows_the_call_as_it_happens(daemon: Stack, sipp_dir: Path) -> None:
    from callcore.tail import tail

    out = io.StringIO()
    watcher = asyncio.create_task(
        tail(daemon.api.removesuffix("/api/v1"), daemon.env["CALLCORE_API_TOKEN"], caller="13911114444", out=out)
    )
    # The tail is the API's only client while it runs: its connection is up before the call is placed
    # (the stream subscribes it as the WebSocket handshake ends, long before a call's first event).
    await until(lambda: connected_to(int(daemon.env["CALLCORE_API_PORT"])), "the tail's connection to the API", 10)
    result = await sipp.call(daemon.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir, caller="13911114444")
    assert result.ok, result.output
    try:
        await until(lambda: " ended" in out.getvalue(), "the call's end on the stream", 10)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    lines = out.getvalue().splitlines()
    assert [line.split()[3] for line in lines] == ["arrived", "answered", "prompt_started", "prompt_finished", "hangup_requested", "ended"]
    assert all("139****4444" in line for line in lines)
    assert "13911114444" not in out.getvalue()
