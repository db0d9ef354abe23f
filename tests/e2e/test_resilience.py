"""No call is dropped silently and none is lost from the store, whatever restarts (T-1, C-1)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from harness import sipp
from harness.postgres import OwnPostgres
from harness.stack import Stack, free_port


async def _types(stack: Stack, call_id: str) -> list[str]:
    return [e["type"] for e in (await stack.call_detail(call_id))["timeline"]]


async def _types_once(stack: Stack, call_id: str, ready: Callable[[list[str]], bool], timeout: float = 15) -> list[str]:
    """The call's timeline as soon as ``ready`` holds for it (or as it is at the timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ready(types := await _types(stack, call_id)) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    return types


async def test_asterisk_restart_the_daemon_reconnects_and_the_next_call_works(daemon: Stack, sipp_dir: Path) -> None:
    await daemon.stop_asterisk()
    await daemon.wait_health(lambda h: h["components"].get("ari") is False and h["components"].get("ami") is False)
    await daemon.start_asterisk()
    await daemon.wait_health(lambda h: h["status"] == "ok", timeout=30)
    result = await sipp.call(daemon.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir, caller="13922220001")
    assert result.ok, result.output
    [row] = await daemon.wait_for_calls(1, caller="13922220001")
    assert "prompt_finished" in await _types(daemon, row["id"])


async def test_daemon_killed_mid_call_the_parked_channel_is_resumed_on_restart(daemon: Stack, sipp_dir: Path) -> None:
    caller = asyncio.create_task(
        sipp.call(daemon.sip, [sipp.ExpectHangup(40_000)], workdir=sipp_dir, caller="13922220002")
    )
    await daemon.wait_for_calls(1, status="active", caller="13922220002")
    await daemon.stop_daemon(signal.SIGKILL)
    await asyncio.sleep(1.0)
    # With the daemon gone the channel stays parked in the Stasis app (not hung up, not moved on).
    concise = (await daemon.cli("core show channels concise")).splitlines()
    assert any("!Stasis!" in line and "13922220002" in line for line in concise), concise
    await daemon.start_daemon()
    result = await caller
    assert result.ok, result.output  # the resumed flow finished the call: the caller got a BYE
    [row] = await daemon.wait_for_calls(1, caller="13922220002")
    types = await _types(daemon, row["id"])
    assert types.count("arrived") == 1, types  # the same call row, continued
    assert "reconciled" in types and types[-1] == "ended"
    detail = await daemon.call_detail(row["id"])
    reconciled = next(e for e in detail["timeline"] if e["type"] == "reconciled")
    assert reconciled["data"]["action"] == "resumed"
    assert [e["data"].get("prompt") for e in detail["timeline"] if e["type"] == "prompt_finished"][-2:] == ["resumed", "welcome"]


async def test_daemon_stopped_mid_call_hands_the_caller_to_voicemail(daemon: Stack, sipp_dir: Path) -> None:
    # The apology (about 11 s) and the beep come first; the caller speaks after them.
    caller = asyncio.create_task(
        sipp.call(daemon.sip, [sipp.Pause(15_000), sipp.Speak(4000), sipp.HangUp()], workdir=sipp_dir, caller="13922220003")
    )
    inbox = daemon.run_dir / "spool" / "voicemail" / "callcore" / "96881" / "INBOX"
    before = set(inbox.glob("*.txt")) if inbox.exists() else set()
    await daemon.wait_for_calls(1, status="active", caller="13922220003")
    await daemon.stop_daemon(signal.SIGTERM)
    result = await caller
    assert result.ok, result.output
    await asyncio.sleep(1)
    new = set(inbox.glob("*.txt")) - before
    assert len(new) == 1 and "13922220003" in next(iter(new)).read_text(errors="replace")
    await daemon.start_daemon()
    [row] = await daemon.wait_for_calls(1, caller="13922220003")
    # The message joins the call that was handed back (not a second call for the same caller) once
    # the restarted daemon has read the mailbox.
    types = await _types_once(daemon, row["id"], lambda t: "voicemail_left" in t)
    assert types[-3:] == ["handed_off", "ended", "voicemail_left"], types
    assert len(await daemon.wait_for_calls(1, caller="13922220003")) == 1


async def test_daemon_killed_and_not_restarted_the_caller_is_not_left_hanging(daemon: Stack, sipp_dir: Path) -> None:
    # The dialplan bounds every call (TIMEOUT(absolute), 40 s in this stack).
    caller = asyncio.create_task(
        sipp.call(daemon.sip, [sipp.ExpectHangup(55_000)], workdir=sipp_dir, caller="13922220004", timeout_s=70)
    )
    await daemon.wait_for_calls(1, status="active", caller="13922220004")
    await daemon.stop_daemon(signal.SIGKILL)
    result = await caller
    assert result.ok, result.output
    # Back up, the daemon closes the call row the crash left open.
    await daemon.start_daemon()
    [row] = await daemon.wait_for_calls(1, caller="13922220004")
    assert (await _types(daemon, row["id"]))[-2:] == ["reconciled", "ended"]


async def test_daemon_not_running_the_caller_hears_the_fallback_and_leaves_a_message(stack: Stack, sipp_dir: Path) -> None:
    await stack.stop_daemon()
    inbox = stack.run_dir / "spool" / "voicemail" / "callcore" / "96881" / "INBOX"
    before = set(inbox.glob("*.txt")) if inbox.exists() else set()
    result = await sipp.call(
        stack.sip, [sipp.Pause(14_000), sipp.Speak(4000), sipp.HangUp()], workdir=sipp_dir, caller="13922220005"
    )
    assert result.ok, result.output
    for _ in range(50):
        new = set(inbox.glob("*.txt")) - before if inbox.exists() else set()
        if new:
            break
        await asyncio.sleep(0.1)
    assert len(new) == 1, "no voicemail left"
    meta = next(iter(new)).read_text(errors="replace")
    assert "13922220005" in meta
    fallback = str(stack.settings.sounds_dir.resolve())
    log = (stack.run_dir / "log" / "messages").read_text(errors="replace")
    assert "Playing '" + fallback in log
    # Back up, the daemon brings the message into the store: the call is not lost (C-1).
    await stack.start_daemon()
    try:
        [row] = await stack.wait_for_calls(1, caller="13922220005")
        assert await _types(stack, row["id"]) == ["arrived", "answered", "voicemail_left", "ended"]
        detail = await stack.call_detail(row["id"])
        assert detail["stage"] == "voicemail" and (detail["outcome"], detail["loss_stage"]) == ("left_by_choice", None), detail
    finally:
        await stack.stop_daemon()


async def test_daemon_not_running_a_caller_who_hangs_up_before_the_message_is_still_stored(
        stack: Stack, sipp_dir: Path) -> None:
    """Nobody but Asterisk heard this call (no ARI, no AMI, no message): its CDR line brings it into
    the store when the daemon is back (callcore/calls/ledger.py), once, at Asterisk's times."""
    await stack.stop_daemon()
    result = await sipp.call(stack.sip, [sipp.Pause(3_000), sipp.HangUp()], workdir=sipp_dir, caller="13922220006")
    assert result.ok, result.output
    cdr = stack.run_dir / "log" / "cdr-custom" / "callcore.csv"
    # Asterisk writes the line once the channel is gone, a moment after the caller's BYE.
    for _ in range(50):
        if "13922220006" in cdr.read_text(errors="replace"):
            break
        await asyncio.sleep(0.1)
    assert "13922220006" in cdr.read_text(errors="replace")
    await stack.start_daemon()
    try:
        # Read once the line has settled (10 s after the hang-up): at the reconnect or the next round.
        [row] = await stack.wait_for_calls(1, caller="13922220006", timeout=60)
        assert await _types(stack, row["id"]) == ["arrived", "answered", "handed_off", "ended"]
        detail = await stack.call_detail(row["id"])
        assert detail["timeline"][0]["data"]["via"] == "cdr"
        assert detail["outcome"] is not None and 2.0 < (
            datetime.fromisoformat(detail["ended_at"]) - datetime.fromisoformat(detail["arrived_at"])).total_seconds() < 6.0
        # Read once: no second row however often the ledger runs.
        await asyncio.sleep(1.0)
        assert len(await stack.calls(status="ended", caller="13922220006")) == 1
    finally:
        await stack.stop_daemon()


async def test_database_stopped_during_calls_every_call_reaches_the_store(stack: Stack, sipp_dir: Path) -> None:
    pg = OwnPostgres(free_port())
    await pg.init()
    await pg.start()
    await stack.stop_daemon()
    try:
        await stack.start_daemon(CALLCORE_DATABASE_URL=pg.url, CALLCORE_DATABASE_SPOOL_FILE=str(sipp_dir / "spool.jsonl"))
        first = await sipp.call(stack.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir, caller="13933330001")
        assert first.ok, first.output
        await pg.stop()
        await stack.wait_health(lambda h: h["components"].get("database") is False)
        during = await asyncio.gather(*(
            sipp.call(stack.sip, [sipp.ExpectHangup(20_000)], workdir=sipp_dir / str(i), caller=f"1393333000{i}")
            for i in (2, 3, 4)
        ))
        assert all(r.ok for r in during), [r.output for r in during]
        health = await stack.health()
        assert health["spooled_events"] is True
        await pg.start()
        await stack.wait_health(lambda h: h["status"] == "ok" and not h["spooled_events"] and h["queued_events"] == 0)
        for i in (1, 2, 3, 4):
            [row] = await stack.wait_for_calls(1, caller=f"1393333000{i}")
            assert (await _types(stack, row["id"])) == [
                "arrived", "answered", "prompt_started", "prompt_finished", "hangup_requested", "ended"
            ]
    finally:
        await stack.stop_daemon()
        try:
            await pg.stop()
        except RuntimeError:
            pass
        pg.remove()
