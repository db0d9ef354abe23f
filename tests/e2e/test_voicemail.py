"""T-10 through a real Asterisk: in business hours with nobody serving the operator queue, a caller
who keys 0 hears the menu's leave-message prompt and a beep, speaks, and hangs up; the daemon recorded
the message on the caller's channel over ARI, stored it linked to the call, measured, listed as
unhandled, playable like a recording, and an agent marks it handled. The call counts as left by choice.

After hours (the shipped menu closed at every hour) a caller keys 1 and leaves a message, stored and
listed the same way. A caller whose queue reaches its maximum wait (``on_max_wait: voicemail``) hears
why, leaves a message, and it is stored and listed with the queue that sent them. A message left with
the dialplan's fallback while the daemon is stopped is in the same list once the daemon is back.

The queue journeys' fixtures are reused with this module's own queues files. New journeys here use
callers 13980… and agents 7001–7009.
"""

from __future__ import annotations

import asyncio
import re
import wave
from pathlib import Path

from typing import Any

from callcore.prompts.synth import ensure_prompt
from callcore.prompts.system import SYSTEM_PROMPTS
from callcore.queues.stasis import MAX_WAIT_VOICEMAIL_TEXT
from harness import sipp
from harness.menus import SHIPPED
from harness.stack import Stack
from tests.e2e.test_queues import agent, api, queue_daemon, start
from tests.e2e.test_recordings import fetch
from tests.e2e.waiting import eventually, stored_detail

__all__ = ["queue_daemon"]  # the fixture, used by name

SPEAK_MS = 4000


def shipped_prompt(node: str) -> str:
    """The prompt of a node of the shipped menu."""
    text = SHIPPED.read_text(encoding="utf-8")
    found = re.search(r'prompt: "([^"]+)"', text[text.index(f"\n  {node}:"):])
    assert found is not None
    return found.group(1)


def leave_message_prompt() -> str:
    """The shipped menu's ``leave_message`` prompt."""
    return shipped_prompt("leave_message")


def always_closed(text: str) -> str:
    """The shipped menu closed at every hour: every caller is an after-hours caller."""
    text = re.sub(r"holidays: cn[^\n]*", "holidays: none", text)
    closed, n = re.subn(r'open:\n    mon-fri: \["08:30-12:00", "13:30-17:30"\]', "open: {}", text)
    assert n == 1
    return closed


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
    detail = await stored_detail(stack, row["id"], lambda d: any(e["type"] == "voicemail_left" for e in d["timeline"]),
                                 "the message on the call's timeline")
    [message] = [e["data"] for e in detail["timeline"] if e["type"] == "voicemail_left"]
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


async def listed(stack: Stack, call_id: str, timeout: float = 20) -> dict[str, Any]:
    """The call's message in ``/voicemails`` (unhandled), as soon as it is there."""
    async def check() -> list[dict[str, Any]]:
        items = (await api(stack, "GET", "/voicemails?handled=false&limit=500"))["items"]
        return [v for v in items if v["call_id"] == call_id]
    [vm] = await eventually(check, f"the message of call {call_id} listed", timeout=timeout,
                            detail=lambda: stack.daemon_log()[-3000:])
    return dict(vm)


async def test_after_hours_a_caller_leaves_a_message_that_is_stored_and_listed(queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    Path(stack.env["CALLCORE_IVR_DIR"], "main.yaml").write_text(always_closed(SHIPPED.read_text(encoding="utf-8")),
                                                               encoding="utf-8")
    await start(stack, tmp_path, [])
    # The after-hours notice, then 1 (留言) while the after-hours menu speaks, then the prompt and the beep.
    key_ms = int((await prompt_seconds(stack, shipped_prompt("after_hours")) + 1.5) * 1000)
    after_key_ms = int((await prompt_seconds(stack, shipped_prompt("voicemail")) + 2.0) * 1000)
    steps: list[sipp.Step] = [sipp.Pause(key_ms), sipp.Keys("1"), sipp.Pause(after_key_ms), sipp.Speak(SPEAK_MS),
                              sipp.HangUp()]
    result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13980000103", timeout_s=90)
    assert result.ok, result.output
    [row] = await stack.wait_for_calls(1, caller="13980000103", timeout=30)
    vm = await listed(stack, row["id"])
    assert (vm["mailbox"], vm["queue"], vm["status"], vm["missing"], vm["quality"]) == (
        "general", None, "done", False, None), vm
    assert abs(vm["duration"] - SPEAK_MS / 1000) <= 1.5, vm
    detail = await stack.call_detail(row["id"])
    prompts = [e["data"]["prompt"] for e in detail["timeline"] if e["type"] == "prompt_started"]
    assert prompts[0].startswith("after_hours") and prompts[-2:] == ["voicemail.prompt", "voicemail_beep"], prompts
    assert detail["outcome"] == "left_by_choice", detail
    # The message is a callback task.
    task = await callback_task(stack, vm["id"])
    assert (task["origin"], task["call_id"], task["status"], task["number"]) == (
        "voicemail", row["id"], "pending", "13980000103"), task


async def callback_task(stack: Stack, recording_id: str, timeout: float = 20) -> dict[str, Any]:
    """The callback task a message made, with its whole detail."""
    async def check() -> dict[str, Any] | None:
        for t in (await api(stack, "GET", "/callbacks?origin=voicemail&limit=500"))["items"]:
            if any(o.get("voicemail_id") == recording_id for o in t["origins"]):
                return dict(await api(stack, "GET", f"/callbacks/{t['id']}"))
        return None
    return await eventually(check, f"the callback task of message {recording_id}", timeout=timeout,
                            detail=lambda: stack.daemon_log()[-3000:])


async def test_a_caller_past_the_queues_maximum_wait_leaves_a_message(queue_daemon: Stack, tmp_path: Path) -> None:
    stack = queue_daemon
    max_wait = 5
    await agent(stack, "7001")
    await start(stack, tmp_path, ["7001"], max_wait=max_wait, on_max_wait="voicemail", announce_every=0)
    # 7001 is logged in with no phone registered: the queue is served, and nobody can answer.
    await api(stack, "POST", "/agents/7001/login")
    try:
        after_key_ms = int((max_wait + await prompt_seconds(stack, MAX_WAIT_VOICEMAIL_TEXT) + 2.5) * 1000)
        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(after_key_ms), sipp.Speak(SPEAK_MS),
                                  sipp.HangUp()]
        result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13980000101", timeout_s=90)
        assert result.ok, result.output
        [row] = await stack.wait_for_calls(1, caller="13980000101", timeout=30)
    finally:
        await api(stack, "POST", "/agents/7001/logout")
    vm = await listed(stack, row["id"])
    assert (vm["mailbox"], vm["queue"], vm["status"], vm["missing"], vm["quality"]) == (
        "general", "general", "done", False, None), vm
    assert abs(vm["duration"] - SPEAK_MS / 1000) <= 1.5, vm
    detail = await stack.call_detail(row["id"])
    [left_queue] = [e["data"] for e in detail["timeline"] if e["type"] == "queue_left"]
    assert left_queue["reason"] == "timeout", detail["timeline"]
    assert [e["data"]["recording"] for e in detail["timeline"] if e["type"] == "voicemail_left"] == [vm["id"]]
    assert detail["outcome"] == "queue_timeout", detail
    status, headers, wav = await fetch(stack, f"/recordings/{vm['id']}/audio")
    assert status == 200 and wav[:4] == b"RIFF" and len(wav) == vm["size"]


async def test_a_message_left_with_the_fallback_joins_the_list_when_the_daemon_is_back(stack: Stack, tmp_path: Path) -> None:
    await stack.stop_daemon()
    # The fallback's apology, then app_voicemail's beep: speak after both.
    after_answer_ms = int((await prompt_seconds(stack, SYSTEM_PROMPTS["fallback"]) + 2.0) * 1000)
    steps: list[sipp.Step] = [sipp.Pause(after_answer_ms), sipp.Speak(SPEAK_MS), sipp.HangUp()]
    result = await sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller="13980000102", timeout_s=60)
    assert result.ok, result.output
    await stack.start_daemon()
    try:
        [row] = await stack.wait_for_calls(1, caller="13980000102", timeout=30)
        vm = await listed(stack, row["id"])
        assert (vm["mailbox"], vm["queue"], vm["status"], vm["missing"]) == ("96881@callcore", None, "done", False), vm
        assert abs(vm["duration"] - SPEAK_MS / 1000) <= 2.0 and vm["quality"] is None, vm
        status, headers, wav = await fetch(stack, f"/recordings/{vm['id']}/audio")
        assert status == 200 and headers["Content-Type"] == "audio/wav" and len(wav) == vm["size"]
        # Copied into the recordings, the message left Asterisk's mailbox (retention deletes the only copy).
        mailbox = stack.settings.fallback_mailbox_dir
        assert not [p for p in mailbox.rglob("msg*.txt") if "13980000102" in p.read_text(errors="replace")]
        task = await callback_task(stack, vm["id"])
        assert (task["origin"], task["call_id"]) == ("voicemail", row["id"]), task
        handled = await api(stack, "POST", f"/voicemails/{vm['id']}/handled")
        assert handled["handled_at"]
        # Imported again by the next daemon: still one message for the call.
        await stack.stop_daemon()
        await stack.start_daemon()
        everything = (await api(stack, "GET", "/voicemails?limit=500"))["items"]
        assert [v["id"] for v in everything if v["call_id"] == row["id"]] == [vm["id"]]
    finally:
        await stack.stop_daemon()
