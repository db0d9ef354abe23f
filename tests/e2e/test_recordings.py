"""T-9 through a real Asterisk: a queued call an agent answers is recorded (both parties) by the
daemon (MixMonitor over AMI); the recording is linked to its call, its duration measured from the file matches
the conversation, and it is served as WAV (with ranges) and MP3.

The queue journeys' fixtures and helpers are reused; agents 4001.. are this module's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from harness import sipp
from harness.phones import AgentPhone, Answer, wait_contact
from harness.stack import Stack
from tests.e2e.test_queues import agent, api, at, log_in, queue_daemon, start
from tests.e2e.waiting import eventually

__all__ = ["queue_daemon"]  # the fixture, used by name

# From the agent's answer: the agent first hears the queue's name and the caller the agent's number
# (a few seconds), then both are bridged and talk for the rest.
TALK_SECONDS = 9.0


async def fetch(stack: Stack, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    auth = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}", **(headers or {})}
    async with aiohttp.ClientSession(headers=auth) as s:
        async with s.get(stack.api + path) as r:
            return r.status, dict(r.headers), await r.read()


async def finished_recordings(stack: Stack, call_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The call's recordings once there are some and none is still being recorded."""
    async def check() -> list[dict[str, Any]] | None:
        items = (await api(stack, "GET", f"/calls/{call_id}/recordings"))["items"]
        return list(items) if items and all(r["status"] != "recording" for r in items) else None
    return await eventually(check, f"the finished recordings of call {call_id}", timeout=timeout,
                            detail=lambda: stack.daemon_log()[-3000:])


async def test_an_answered_queue_call_is_recorded_linked_measured_and_served(
        queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    password = await agent(stack, "4001")
    await start(stack, tmp_path, ["4001"], announce_every=0)
    async with AgentPhone(stack.sip, "4001", password, workdir=tmp_path / "a1",
                          behaviour=Answer(after_seconds=1.0, talk_seconds=TALK_SECONDS, speak=True)) as phone:
        await wait_contact(stack.cli, "4001")
        await log_in(stack, "4001")
        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.ExpectHangup(60_000)]
        result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13911117777", timeout_s=70)
        assert result.ok, result.output
        await phone.wait_calls(1, timeout=30)
    await api(stack, "POST", "/agents/4001/logout")
    [row] = await stack.wait_for_calls(1, caller="13911117777", timeout=30)
    detail = await stack.call_detail(row["id"])
    assert detail["outcome"] == "answered"

    [rec] = await finished_recordings(stack, row["id"])
    assert (rec["call_id"], rec["agent"], rec["queue"], rec["status"], rec["missing"]) == (
        row["id"], "4001", "general", "done", False), rec
    wav_file = stack.run_dir / "spool" / "recording"
    assert [p for p in wav_file.glob("*.wav") if rec["call_id"] in p.name], list(wav_file.iterdir())
    talked = at(detail, "talk_ended") - at(detail, "bridged")
    assert 3.0 < talked < TALK_SECONDS, talked
    assert abs(rec["duration"] - talked) < 1.0, (rec["duration"], talked)

    status, headers, wav = await fetch(stack, f"/recordings/{rec['id']}/audio")
    assert status == 200 and headers["Content-Type"] == "audio/wav" and wav[:4] == b"RIFF"
    assert len(wav) == rec["size"]
    status, headers, part = await fetch(stack, f"/recordings/{rec['id']}/audio", {"Range": "bytes=44-1043"})
    assert status == 206 and headers["Content-Range"] == f"bytes 44-1043/{len(wav)}" and part == wav[44:1044]
    status, headers, mp3 = await fetch(stack, f"/recordings/{rec['id']}/audio.mp3?download=true")
    assert status == 200 and headers["Content-Type"] == "audio/mpeg" and len(mp3) > 1000
    assert "attachment" in headers["Content-Disposition"]
    audit = await api(stack, "GET", f"/audit?object_id={rec['id']}")
    assert sorted(e["action"] for e in audit) == ["recording_download", "recording_play"]
