"""T-10 through a real Asterisk: in business hours with nobody serving the operator queue, a caller
who keys 0 hears the menu's leave-message prompt and a beep, speaks, and hangs up; the daemon recorded
the message on the caller's channel over ARI, stored it linked to the call, measured, listed as
unhandled, playable like a recording, and an agent marks it handled. The call counts as left by choice.

The queue journeys' fixtures are reused with this module's own queues file (nobody logs in).
"""

from __future__ import annotations

import asyncio
import re
import wave
from pathlib import Path

from callcore.prompts.synth import ensure_prompt
from harness import sipp
from harness.menus import SHIPPED
from harness.stack import Stack
from tests.e2e.test_queues import api, queue_daemon, start
from tests.e2e.test_recordings import fetch

__all__ = ["queue_daemon"]  # the fixture, used by name

SPEAK_MS = 4000


def leave_message_prompt() -> str:
    """The shipped menu's ``leave_message`` prompt."""
    text = SHIPPED.read_text(encoding="utf-8")
    node = text[text.index("  leave_message:"):]
    found = re.search(r'prompt: "([^"]+)"', node)
    assert found is not None
    return found.group(1)


async def prompt_seconds(stack: Stack, text: str) -> float:
    path = (await ensure_prompt(text, stack.settings.sounds_dir)).with_suffix(".wav")

    def length() -> float:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()

    return await asyncio.to_thread(length)


async def test_a_caller_leaves_a_message_when_nobody_serves_the_queue(queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    await start(stack, tmp_path, ["4901"], announce_every=0)  # 4901 never logs in: nobody serves general
    # Speak once the prompt and the beep are over (the key cuts the welcome; the hand-off takes well under 1 s).
    after_key_ms = int((await prompt_seconds(stack, leave_message_prompt()) + 1.5) * 1000)
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("0"), sipp.Pause(after_key_ms), sipp.Speak(SPEAK_MS),
                              sipp.HangUp()]
    result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13971110001", timeout_s=90)
    assert result.ok, result.output
    [row] = await stack.wait_for_calls(1, caller="13971110001", timeout=30)

    deadline = asyncio.get_running_loop().time() + 20
    while True:
        detail = await stack.call_detail(row["id"])
        left = [e["data"] for e in detail["timeline"] if e["type"] == "voicemail_left"]
        if left:
            break
        assert asyncio.get_running_loop().time() < deadline, ([e["type"] for e in detail["timeline"]],
                                                             stack.daemon_log()[-3000:])
        await asyncio.sleep(0.3)
    [message] = left
    assert message["mailbox"] == "general" and "quality" not in message, message
    prompts = [e["data"]["prompt"] for e in detail["timeline"] if e["type"] == "prompt_started"]
    assert prompts[-2:] == ["leave_message.prompt", "voicemail_beep"], prompts
    assert (detail["outcome"], detail["hangup_by"]) == ("left_by_choice", "caller"), detail

    unhandled = (await api(stack, "GET", "/voicemails?handled=false&limit=500"))["items"]
    [vm] = [v for v in unhandled if v["id"] == message["recording"]]
    assert (vm["call_id"], vm["mailbox"], vm["status"], vm["missing"], vm["quality"]) == (
        row["id"], "general", "done", False, None), vm
    assert abs(vm["duration"] - SPEAK_MS / 1000) <= 1.5, vm
    assert vm["duration"] == message["seconds"] and vm["handled_at"] is None

    status, headers, wav = await fetch(stack, f"/recordings/{vm['id']}/audio")
    assert status == 200 and headers["Content-Type"] == "audio/wav" and wav[:4] == b"RIFF" and len(wav) == vm["size"]
    [as_recording] = (await api(stack, "GET", f"/calls/{row['id']}/recordings"))["items"]
    assert (as_recording["id"], as_recording["kind"]) == (vm["id"], "voicemail")

    handled = await api(stack, "POST", f"/voicemails/{vm['id']}/handled")
    assert handled["handled_at"] and handled["handled_by"]
    assert vm["id"] not in [v["id"] for v in (await api(stack, "GET", "/voicemails?handled=false&limit=500"))["items"]]
    assert vm["id"] in [v["id"] for v in (await api(stack, "GET", "/voicemails?handled=true&limit=500"))["items"]]
    audit = await api(stack, "GET", f"/audit?object_id={vm['id']}")
    assert sorted(e["action"] for e in audit) == ["recording_play", "voicemail_handled"]
