"""IVR load benchmark (issue 4): callers walk the 96881 menu at a fixed rate.

Each caller keys 1 (SIP INFO) while the welcome (the first menu) plays, reaches the general queue,
which nobody staffs in the bench (the menu's unavailable path, which the bench points straight at the
not-available prompt instead of the voicemail node: then the hotline hangs up), and answers the BYE.
The menu is the shipped ``ivr/main.yaml`` with hours always open (as in the journeys). Asterisk, the daemon (``CALLCORE_FLOW=ivr``) and SIPp are started as by
``bench/load.py``, whose pieces this reuses, in a fresh run folder.

Printed: offered / completed / failed calls and the sustained CPS (SIPp), INVITE->200, CPU per
1,000 calls, and from the call timelines in the store the time from each key to the start of the
next prompt on that call, p50 / p99 / max over all calls, on Asterisk's clock (the ``heard_at`` of
the ``dtmf`` event to the ``started_at`` of the next prompt, both ARI event timestamps: what the
caller waits, less the network), and the daemon's own share of it (the ``dtmf`` event to the next
``prompt_started``); plus a check that every call took the path hours -> welcome -> consult ->
operator -> not_available.

    .venv/bin/python bench/ivr_load.py --cps 10 --seconds 5                       # smoke
    .venv/bin/python bench/ivr_load.py --cps 100 --seconds 30 --prompt-seconds 1  # the goal of issue 4
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import re
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import sipp as bench_sipp  # noqa: E402
from bench.load import (  # noqa: E402
    active_channels, bench_run_dir, bench_stack, common_arguments, cpu_seconds, machine_busy, prompt_seconds, raise_fd_limit,
    shorten_prompt, start_py_spy, stop_py_spy, wait_quiet,
)
from callcore.asterisk import process  # noqa: E402
from callcore.calls import events as ev  # noqa: E402
from callcore.calls.models import Call, CallEvent  # noqa: E402
from callcore.ivr.validator import check, prompt_dirs  # noqa: E402
from callcore.store.db import Database  # noqa: E402
from harness import sipp as scenarios  # noqa: E402
from harness.stack import Stack  # noqa: E402
from harness.menus import SHIPPED, always_open  # noqa: E402

SERVICE = "96881"
EXPECTED_PATH = ("route", "hours", "welcome", "consult", "operator", "not_available")


def percentile(values: list[float], p: float) -> float:
    """Nearest rank (as ``SippRun.percentile``); NaN without values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass
class Timelines:
    """What the store says about the run's calls."""

    calls: int = 0
    ended: int = 0
    # Asterisk's clock: the key heard on the channel -> the next prompt's playback started on it.
    digit_to_prompt_ms: list[float] = field(default_factory=list)
    in_menu_ms: list[float] = field(default_factory=list)  # the same, for keys that came while the menu was up
    # The daemon's clock: the key's event -> the next prompt requested (what the daemon itself adds).
    daemon_ms: list[float] = field(default_factory=list)
    keys_without_prompt: int = 0  # a key with no prompt after it on that call
    prompts_never_started: int = 0  # a prompt after a key that Asterisk never reported started
    keyed_in_welcome: int = 0  # the key came while the welcome menu was being set up or played
    paths: dict[tuple[str, ...], int] = field(default_factory=lambda: defaultdict(int))


def asterisk_time(stamp: str) -> dt.datetime:
    """An ARI event ``timestamp`` ("2026-11-24T02:00:00.120+0000")."""
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


async def read_timelines(url: str, since: dt.datetime) -> Timelines:
    db = Database(url)
    try:
        async with db.session() as s:
            calls = (await s.execute(select(Call.id, Call.status).where(Call.arrived_at >= since))).all()
            ids = [c.id for c in calls]
            rows: list[Any] = []
            for i in range(0, len(ids), 500):
                rows += (await s.execute(
                    select(CallEvent.call_id, CallEvent.seq, CallEvent.at, CallEvent.type, CallEvent.data)
                    .where(CallEvent.call_id.in_(ids[i:i + 500]),
                           CallEvent.type.in_((ev.DTMF, ev.PROMPT_STARTED, ev.PROMPT_FINISHED, ev.IVR_LEFT)))
                )).all()
    finally:
        await db.close()
    out = Timelines(calls=len(calls), ended=sum(1 for c in calls if c.status == "ended"))
    by_call: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_call[r.call_id].append(r)
    for events in by_call.values():
        events.sort(key=lambda r: r.seq)
        started_at = {e.data.get("playback_id"): e.data["started_at"] for e in events
                      if e.type == ev.PROMPT_FINISHED and e.data.get("started_at")}
        menu_started = False
        for i, e in enumerate(events):
            if e.type == ev.PROMPT_STARTED and e.data.get("prompt") == "welcome.prompt":
                menu_started = True
            elif e.type == ev.IVR_LEFT:
                out.paths[(*e.data.get("path", ()), e.data.get("how", "?"))] += 1
            elif e.type == ev.DTMF:
                out.keyed_in_welcome += menu_started
                nxt = next((n for n in events[i + 1:] if n.type == ev.PROMPT_STARTED), None)
                if nxt is None:
                    out.keys_without_prompt += 1
                    continue
                out.daemon_ms.append((nxt.at - e.at).total_seconds() * 1000)
                start = started_at.get(nxt.data.get("playback_id"))
                if start is None or not e.data.get("heard_at"):
                    out.prompts_never_started += 1
                    continue
                out.digit_to_prompt_ms.append((asterisk_time(start) - asterisk_time(e.data["heard_at"])).total_seconds() * 1000)
                if menu_started:
                    out.in_menu_ms.append(out.digit_to_prompt_ms[-1])
    return out


async def prepare_menu(stack: Stack, cut: float | None) -> dict[str, float]:
    """The always-open menu in the run folder's ``ivr/``, its prompts synthesized and, with ``cut``, shortened.

    Returns the seconds the welcome, main and not_available prompts now last.
    """
    ivr_dir = Path(stack.env["CALLCORE_IVR_DIR"])
    ivr_dir.mkdir(parents=True, exist_ok=True)
    # The bench measures the menu, not voicemail: the unstaffed queue goes straight to the not-available
    # prompt and the hang-up, as the shipped menu did before the voicemail node (a message recorded until
    # the caller hangs up would keep every call up for SIPp's whole timeout).
    text = always_open(SHIPPED.read_text(encoding="utf-8")).replace("unavailable: leave_message",
                                                                    "unavailable: not_available")
    text = re.sub(r"\n  leave_message:\n(    [^\n]*\n)+", "\n", text)
    (ivr_dir / "main.yaml").write_text(text, encoding="utf-8")
    result = await check(text, prompt_dirs(stack.settings))
    assert result.menu is not None and not result.faults, result.faults
    seconds = {}
    for key, path in result.prompts.items():
        wav = path.with_suffix(".wav")
        seconds[key] = shorten_prompt(wav, cut) if cut is not None and prompt_seconds(wav) > cut else prompt_seconds(wav)
    prompts = dict(result.menu.all_prompts())
    return {n: sum(seconds[(i.kind, i.value)] for i in prompts[f"{n}.prompt"]) for n in ("welcome", "main", "not_available")}


async def main(args: argparse.Namespace) -> int:
    fds = raise_fd_limit()
    run_dir = bench_run_dir(args, prefix="callcore-ivr-bench-")
    stack = bench_stack(args, run_dir, CALLCORE_FLOW="ivr", CALLCORE_IVR_DIR=str(run_dir / "ivr"))
    lengths = await prepare_menu(stack, args.prompt_seconds)
    # The key must reach the menu: a key during the routing AGI (the dialplan answers before it) is lost; the
    # welcome is the first menu and takes keys while it plays and 1 s after, so 2.5 s after the ACK lands in it
    # even when the AGI and the Stasis entry lag under load.
    key_after = args.key_after_ms if args.key_after_ms is not None else 2500
    calls = int(args.cps * args.seconds)
    print(f"callcore IVR load bench {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: {args.cps} CPS x {args.seconds} s"
          f" = {calls} calls; {os.cpu_count()} CPUs; open files {fds}; run folder {run_dir}", flush=True)
    print(f"  database {stack.settings.database_url}; prompts: welcome {lengths['welcome']:.2f} s,"
          f" main menu {lengths['main']:.2f} s, not available {lengths['not_available']:.2f} s; key 1 {key_after} ms after the ACK",
          flush=True)
    status = 1
    try:
        await stack.start_asterisk()
        asterisk_pid = process.running_pid(run_dir)
        assert asterisk_pid is not None
        await stack.start_daemon()
        assert stack.daemon is not None
        daemon_pid = stack.daemon.pid
        await wait_quiet([daemon_pid, asterisk_pid])
        since = dt.datetime.now(dt.timezone.utc)
        d0, a0, m0 = cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid), machine_busy()
        spy = await start_py_spy(daemon_pid, run_dir / "py-spy-ivr.txt") if args.py_spy else None
        # The key goes as SIP INFO (the load caller sends no RTP).
        run = await bench_sipp.run_uac(stack.sip, service=SERVICE, cps=args.cps, calls=calls, limit=args.limit,
                                       workdir=run_dir / "sipp" / "ivr", call_timeout_s=args.call_timeout,
                                       steps=[scenarios.Pause(key_after), scenarios.Keys("1", via="info")])
        m1 = machine_busy()
        deadline = asyncio.get_running_loop().time() + 60
        while await active_channels(stack) > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        await wait_quiet([daemon_pid, asterisk_pid])
        await stop_py_spy(spy)
        d1, a1 = cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid)
        t = await read_timelines(stack.settings.database_url, since)
        per_k = 1000 / run.offered if run.offered else 0.0
        sustained = run.completed / run.offer_seconds if run.offer_seconds else 0.0
        lat = t.digit_to_prompt_ms
        expected = sum(n for p, n in t.paths.items() if p == (*EXPECTED_PATH, "hangup"))
        print(f"[ivr] service {SERVICE}: key 1 during the welcome, queue general not staffed, the hotline hangs up")
        print(f"  offered {run.offered}   completed {run.completed}   failed {run.failed}")
        print(f"  sustained {sustained:.1f} CPS  (completed / {run.offer_seconds:.2f} s of call creation;"
              f" SIPp ran {run.wall_seconds:.1f} s, peak {run.peak_concurrent} calls up)")
        print(f"  INVITE->200 p50 {run.percentile(50):.1f} ms   p99 {run.percentile(99):.1f} ms"
              f"   max {run.percentile(100):.1f} ms")
        print(f"  digit->next prompt (Asterisk: key heard -> playback started) p50 {percentile(lat, 50):.1f} ms"
              f"   p99 {percentile(lat, 99):.1f} ms   max {percentile(lat, 100):.1f} ms   ({len(lat)} keys;"
              f" {t.keys_without_prompt} with no prompt after, {t.prompts_never_started} whose prompt never started,"
              f" {t.keyed_in_welcome} keyed while the welcome menu played)")
        m = t.in_menu_ms
        print(f"  keys while the menu was up: p50 {percentile(m, 50):.1f} ms   p99 {percentile(m, 99):.1f} ms"
              f"   max {percentile(m, 100):.1f} ms   ({len(m)} keys)")
        dm = t.daemon_ms
        print(f"  of which the daemon (key event -> prompt requested): p50 {percentile(dm, 50):.1f} ms"
              f"   p99 {percentile(dm, 99):.1f} ms   max {percentile(dm, 100):.1f} ms")
        print(f"  CPU s / 1,000 offered calls: daemon {(d1 - d0) * per_k:.2f}   asterisk {(a1 - a0) * per_k:.2f}"
              f"   (machine {100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9):.0f}% busy while SIPp ran)")
        print(f"  stored: {t.calls} calls, {t.ended} ended, {expected} took {' > '.join(EXPECTED_PATH)}")
        for path, n in sorted(t.paths.items(), key=lambda x: -x[1]):
            if path != (*EXPECTED_PATH, "hangup"):
                print(f"    other path x{n}: {' > '.join(path)}")
        ok = (run.failed == 0 and run.completed == run.offered == calls and expected == calls
              and t.keys_without_prompt == 0 and t.prompts_never_started == 0)
        status = 0 if ok else 1
    finally:
        await stack.stop_daemon()
        await stack.stop_asterisk()
    if args.keep or args.py_spy:
        print(f"kept {run_dir} (logs in log/, SIPp files in sipp/ivr/)")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return status


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p, cps=100, call_timeout=60, spy_file="py-spy-ivr.txt")
    p.add_argument("--prompt-seconds", type=float,
                   help="cut every prompt of the menu (in the bench's own run folder) to this many seconds")
    p.add_argument("--key-after-ms", type=int, help="pause between the ACK and the key (default: 2.5 s)")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
