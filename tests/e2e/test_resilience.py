"""No call is dropped silently and none is lost from the store, whatever restarts (T-1, C-1).

The faults strike the flow the product ships: the IVR with the shipped menu (``ivr_stack``), a caller
in the menus when the daemon is killed or stopped, the database down while callers key their way
through. What the store then holds is checked call by call: one row, its IVR path, an outcome.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

from callcore.prompts.system import SYSTEM_PROMPTS
from harness import sipp
from harness.postgres import OwnPostgres
from harness.stack import Stack, free_port
from tests.e2e.test_voicemail import prompt_seconds
from tests.e2e.waiting import asterisk_log, event_stream, eventually, log_size, parked, stored_detail, timeline

# The shipped menu's welcome takes every key while it plays; 9 is the emergency referral, a hang-up node.
EMERGENCY: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("9"), sipp.ExpectHangup(40_000)]
EMERGENCY_PATH = ["route", "hours", "welcome", "emergency", "emergency_referral"]


def events(detail: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in detail["timeline"] if e["type"] == type_]


def path(timeline: list[dict[str, Any]]) -> list[str]:
    """The menu nodes the call went through (``ivr_node`` events that only name the node)."""
    return [e["data"]["node"] for e in timeline if e["type"] == "ivr_node" and set(e["data"]) == {"node", "kind"}]


def prompts(timeline: list[dict[str, Any]], type_: str = "prompt_started") -> list[str]:
    return [e["data"]["prompt"] for e in timeline if e["type"] == type_]


def split_at(detail: dict[str, Any], type_: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The timeline before the (one) ``type_`` event, and from it on."""
    types = [e["type"] for e in detail["timeline"]]
    assert types.count(type_) == 1, types
    at = types.index(type_)
    return detail["timeline"][:at], detail["timeline"][at:]


def in_the_menu_when_struck(before: list[dict[str, Any]]) -> None:
    """What the daemon emitted before the fault, the instant the welcome began, is stored once: the
    arrival, the menu entered, its path to the welcome and the welcome's prompt."""
    types = [e["type"] for e in before]
    assert types[:2] == ["arrived", "answered"] and types.count("arrived") == 1, types
    assert [e["data"]["menu"] for e in before if e["type"] == "ivr_entered"] == ["main"], types
    assert path(before) == ["route", "hours", "welcome"], types
    assert prompts(before) == ["welcome.prompt"], types


def inbox_messages(stack: Stack, caller: str) -> set[Path]:
    """The fallback mailbox's messages (their ``.txt``) from ``caller``."""
    inbox = stack.run_dir / "spool" / "voicemail" / "callcore" / "96881" / "INBOX"
    return {p for p in inbox.glob("*.txt") if caller in p.read_text(errors="replace")} if inbox.exists() else set()


async def ledger_read_past(stack: Stack, number: str) -> None:
    """Until the daemon's CDR ledger has read Asterisk's record past the last line of ``number``'s calls
    (it reads a line once its channel ended 10 s ago: at a reconnect, then every 30 s)."""
    end = stack.settings.cdr_ledger_file.read_bytes().rindex(number.encode())
    offset = stack.run_dir / "cdr-ledger.offset"
    await eventually(lambda: offset.exists() and int(offset.read_text().split()[1]) > end,
                     f"the CDR ledger reading past the line of {number}", timeout=60)


async def test_asterisk_restart_the_daemon_reconnects_and_the_next_call_works(ivr_daemon: Stack, sipp_dir: Path) -> None:
    await ivr_daemon.stop_asterisk()
    await ivr_daemon.wait_health(lambda h: h["components"].get("ari") is False and h["components"].get("ami") is False)
    await ivr_daemon.start_asterisk()
    await ivr_daemon.wait_health(lambda h: h["status"] == "ok", timeout=30)
    result = await sipp.call(ivr_daemon.sip, EMERGENCY, workdir=sipp_dir, caller="13922220001")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922220001")
    detail = await ivr_daemon.call_detail(row["id"])
    # The menu ran on the reconnected ARI: the key was heard, the referral played to its end.
    assert path(detail["timeline"]) == EMERGENCY_PATH
    assert [d["digit"] for d in events(detail, "dtmf")] == ["9"]
    assert "emergency_referral.prompt" in prompts(detail["timeline"], "prompt_finished")
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["reason"], left["path"]) == ("hangup", "emergency_referral", EMERGENCY_PATH)
    assert (detail["hangup_by"], detail["outcome"]) == ("system", "closed_by_system")


async def test_daemon_killed_mid_menu_the_parked_caller_is_resumed_on_restart(ivr_daemon: Stack, sipp_dir: Path) -> None:
    number = "13922220002"
    # The caller listens and hangs up after 31 s: by then the restarted daemon has taken the call back,
    # said sorry (5.7 s) and replayed the welcome (7.4 s), and the menu has not yet sent a silent caller
    # to a message.
    async with event_stream(ivr_daemon, number) as stream:
        caller = asyncio.create_task(sipp.call(
            ivr_daemon.sip, [sipp.Pause(31_000), sipp.HangUp()], workdir=sipp_dir, caller=number, timeout_s=60))
        await stream.next("prompt_started", prompt="welcome.prompt")
        since = log_size(ivr_daemon)
        # Killed the instant the welcome begins: the events just emitted may be only in its write-ahead log.
        await ivr_daemon.stop_daemon(signal.SIGKILL)
    # With the daemon gone the channel stays parked in the Stasis app (not hung up, not moved on): so
    # says Asterisk's own channel list once Asterisk has let go of the app (stasis/app.c).
    deactivated = f"Deactivating Stasis app '{ivr_daemon.settings.asterisk.app}'"
    await eventually(lambda: deactivated in asterisk_log(ivr_daemon, since), "Asterisk letting go of the daemon's app")
    [channel] = await parked(ivr_daemon, number)
    assert channel.state == "Up" and channel.stasis_args[0] == "inbound", channel
    await ivr_daemon.start_daemon()
    [active] = await ivr_daemon.wait_for_calls(1, status="active", caller=number)
    await stored_detail(ivr_daemon, active["id"], lambda d: "reconciled" in [e["type"] for e in d["timeline"]],
                        "the restarted daemon taking the parked call back")
    result = await caller
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller=number)
    detail = await ivr_daemon.call_detail(row["id"])
    assert row["id"] == active["id"] and detail["channel_id"] == channel.id
    before, after = split_at(detail, "reconciled")
    in_the_menu_when_struck(before)
    # The same call row, continued: resumed into the menu, the apology first, then the welcome again.
    assert after[0]["data"]["action"] == "resumed"
    assert [e["data"]["menu"] for e in after if e["type"] == "ivr_entered"] == ["main"]
    assert prompts(after)[:2] == ["resumed", "welcome.prompt"]
    assert {"resumed", "welcome.prompt"} <= set(prompts(after, "prompt_finished"))
    assert after[-1]["type"] == "ended"
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["lost"]) == ("caller_hangup", True)
    assert detail["hangup_by"] == "caller" and (detail["outcome"], detail["loss_stage"]) == ("lost_in_ivr", "ivr")
    assert len(await ivr_daemon.calls(caller=number)) == 1


async def test_daemon_stopped_mid_menu_hands_the_caller_to_voicemail(ivr_daemon: Stack, sipp_dir: Path) -> None:
    number = "13922220003"
    # Handed back a few seconds into the call, the caller hears the dialplan's apology and the beep,
    # then speaks: 4.5 s after the apology's length leaves room for the hand-off and the beep, and
    # less than the mailbox's 5 s of silence after it.
    speak_after_ms = int((await prompt_seconds(ivr_daemon, SYSTEM_PROMPTS["fallback"]) + 4.5) * 1000)
    before = inbox_messages(ivr_daemon, number)
    async with event_stream(ivr_daemon, number) as stream:
        caller = asyncio.create_task(sipp.call(ivr_daemon.sip, [sipp.Pause(speak_after_ms), sipp.Speak(4000), sipp.HangUp()],
                                               workdir=sipp_dir, caller=number))
        await stream.next("prompt_started", prompt="welcome.prompt")
        await ivr_daemon.stop_daemon(signal.SIGTERM)
    result = await caller
    assert result.ok, result.output
    # Asterisk writes the message's metadata once the caller has hung up.
    new = await eventually(lambda: inbox_messages(ivr_daemon, number) - before, "the fallback's message")
    assert len(new) == 1, new
    await ivr_daemon.start_daemon()
    [row] = await ivr_daemon.wait_for_calls(1, caller=number)
    # The message joins the call that was handed back (not a second call for the same caller) once
    # the restarted daemon has read the mailbox.
    detail = await stored_detail(ivr_daemon, row["id"], lambda d: "voicemail_left" in [e["type"] for e in d["timeline"]],
                                 "the message joining the call")
    types = [e["type"] for e in detail["timeline"]]
    assert types[-3:] == ["handed_off", "ended", "voicemail_left"], types
    before_handoff, _ = split_at(detail, "handed_off")
    in_the_menu_when_struck(before_handoff)
    [handed] = events(detail, "handed_off")
    assert handed["label"] == "fallback"
    assert events(detail, "voicemail_left")[0]["via"] == "fallback"
    assert (detail["outcome"], detail["loss_stage"]) == ("left_by_choice", None), detail
    assert len(await ivr_daemon.calls(caller=number)) == 1


async def test_daemon_killed_and_not_restarted_the_caller_is_not_left_hanging(ivr_daemon: Stack, sipp_dir: Path) -> None:
    number = "13922220004"
    # The dialplan bounds every call (TIMEOUT(absolute), 40 s in this stack).
    async with event_stream(ivr_daemon, number) as stream:
        caller = asyncio.create_task(
            sipp.call(ivr_daemon.sip, [sipp.ExpectHangup(55_000)], workdir=sipp_dir, caller=number, timeout_s=70))
        await stream.next("prompt_started", prompt="welcome.prompt")
        await ivr_daemon.stop_daemon(signal.SIGKILL)
    result = await caller
    assert result.ok, result.output
    # Back up, the daemon closes the call row the crash left open.
    await ivr_daemon.start_daemon()
    [row] = await ivr_daemon.wait_for_calls(1, caller=number)
    detail = await ivr_daemon.call_detail(row["id"])
    assert [e["type"] for e in detail["timeline"]][-2:] == ["reconciled", "ended"]
    before, after = split_at(detail, "reconciled")
    in_the_menu_when_struck(before)
    assert after[0]["data"]["action"] == "closed"
    # Nobody heard who hung up: taken as the caller, so the loss in the menus is not hidden (C-2).
    assert (detail["outcome"], detail["loss_stage"]) == ("lost_in_ivr", "ivr"), detail
    assert len(await ivr_daemon.calls(caller=number)) == 1


async def test_daemon_not_running_the_caller_hears_the_fallback_and_leaves_a_message(ivr_stack: Stack, sipp_dir: Path) -> None:
    stack = ivr_stack
    before = inbox_messages(stack, "13922220005")
    result = await sipp.call(
        stack.sip, [sipp.Pause(14_000), sipp.Speak(4000), sipp.HangUp()], workdir=sipp_dir, caller="13922220005"
    )
    assert result.ok, result.output
    new = await eventually(lambda: inbox_messages(stack, "13922220005") - before, "the fallback's message", timeout=5)
    assert len(new) == 1, "no voicemail left"
    fallback = str(stack.settings.sounds_dir.resolve())
    log = (stack.run_dir / "log" / "messages").read_text(errors="replace")
    assert "Playing '" + fallback in log
    # Back up, the daemon brings the message into the store: the call is not lost (C-1).
    await stack.start_daemon()
    [row] = await stack.wait_for_calls(1, caller="13922220005")
    assert await timeline(stack, row["id"]) == ["arrived", "answered", "voicemail_left", "ended"]
    detail = await stack.call_detail(row["id"])
    assert detail["stage"] == "voicemail" and (detail["outcome"], detail["loss_stage"]) == ("left_by_choice", None), detail
    # Asterisk's CDR line of the same call, read by the ledger, adds no second row (it did when the
    # ledger's round at start-up ran beside the message's import: callcore/calls/reconcile.py).
    await ledger_read_past(stack, "13922220005")
    assert [r["id"] for r in await stack.calls(caller="13922220005")] == [row["id"]]


async def test_daemon_not_running_a_caller_who_hangs_up_before_the_message_is_still_stored(
        ivr_stack: Stack, sipp_dir: Path) -> None:
    """Nobody but Asterisk heard this call (no ARI, no AMI, no message): its CDR line brings it into
    the store when the daemon is back (callcore/calls/ledger.py), once, at Asterisk's times."""
    stack = ivr_stack
    number = "13922220006"
    result = await sipp.call(stack.sip, [sipp.Pause(3_000), sipp.HangUp()], workdir=sipp_dir, caller=number)
    assert result.ok, result.output
    cdr = stack.settings.cdr_ledger_file
    # Asterisk writes the line once the channel is gone, a moment after the caller's BYE.
    await eventually(lambda: number in cdr.read_text(errors="replace"), "Asterisk's CDR line of the call", timeout=5)
    await stack.start_daemon()
    # Read once the line has settled (10 s after the hang-up): at the reconnect or the next round.
    [row] = await stack.wait_for_calls(1, caller=number, timeout=60)
    assert await timeline(stack, row["id"]) == ["arrived", "answered", "handed_off", "ended"]
    detail = await stack.call_detail(row["id"])
    assert detail["timeline"][0]["data"]["via"] == "cdr"
    assert detail["outcome"] is not None and 2.0 < (
        datetime.fromisoformat(detail["ended_at"]) - datetime.fromisoformat(detail["arrived_at"])).total_seconds() < 6.0
    # Read once: no second row however often the ledger runs, even one that has forgotten how far it
    # read (it reads the whole file again at the next start, and finds the call in the store).
    await stack.stop_daemon()
    (stack.run_dir / "cdr-ledger.offset").unlink()
    await stack.start_daemon()
    await ledger_read_past(stack, number)
    assert [r["id"] for r in await stack.calls(caller=number)] == [row["id"]]


async def test_database_stopped_during_calls_every_call_reaches_the_store(ivr_stack: Stack, sipp_dir: Path) -> None:
    stack = ivr_stack
    pg = OwnPostgres(free_port())
    await pg.init()
    await pg.start()
    try:
        await stack.start_daemon(CALLCORE_DATABASE_URL=pg.url, CALLCORE_DATABASE_SPOOL_FILE=str(sipp_dir / "spool.jsonl"))
        first = await sipp.call(stack.sip, EMERGENCY, workdir=sipp_dir, caller="13933330001")
        assert first.ok, first.output
        await pg.stop()
        await stack.wait_health(lambda h: h["components"].get("database") is False)
        # Callers key their way through the menu while nothing can be stored.
        during = await asyncio.gather(*(
            sipp.call(stack.sip, EMERGENCY, workdir=sipp_dir / str(i), caller=f"1393333000{i}") for i in (2, 3, 4)
        ))
        assert all(r.ok for r in during), [r.output for r in during]
        health = await stack.health()
        assert health["spooled_events"] is True
        await pg.start()
        await stack.wait_health(lambda h: h["status"] == "ok" and not h["spooled_events"] and h["queued_events"] == 0)
        timelines = []
        for i in (1, 2, 3, 4):
            [row] = await stack.wait_for_calls(1, caller=f"1393333000{i}")
            detail = await stack.call_detail(row["id"])
            assert path(detail["timeline"]) == EMERGENCY_PATH, detail["timeline"]
            [left] = events(detail, "ivr_left")
            assert (left["how"], left["reason"], left["path"]) == ("hangup", "emergency_referral", EMERGENCY_PATH)
            # The routing step (the daemon's FastAGI, before the menu) answered during the outage too.
            assert (detail["attributes"]["route"], detail["attributes"]["category"]) == ("normal", "emergency")
            assert (detail["hangup_by"], detail["outcome"]) == ("system", "closed_by_system")
            timelines.append([e["type"] for e in detail["timeline"]])
        # Each call's whole timeline, stored during the outage as it is without one.
        assert timelines[0] == [
            "arrived", "answered", "attribute_set", "attribute_set", "ivr_entered", "ivr_node", "ivr_node", "ivr_node",
            "prompt_started", "dtmf", "prompt_finished", "ivr_node", "attribute_set", "ivr_node", "prompt_started",
            "prompt_finished", "ivr_left", "hangup_requested", "ended",
        ], timelines[0]
        assert all(t == timelines[0] for t in timelines), timelines
    finally:
        await stack.stop_daemon()
        try:
            await pg.stop()
        except RuntimeError:
            pass
        pg.remove()
