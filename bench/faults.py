"""Fault benchmark (issue 12, "a crash loses no call"): the daemon killed, or the database stopped,
while citizens are calling, then a count of what the store holds against what Asterisk saw.

Starts its own Asterisk, PostgreSQL (a server of its own, so it can be stopped) and daemon on the
IVR flow the product ships, drives SIPp at ``--cps`` for ``--seconds`` (each caller listens to the
menu for ``--listen`` seconds and hangs up), and meanwhile either

  ``--mode kill``   kills the daemon with SIGKILL ``--kills`` times, restarting it ``--down`` s later, or
  ``--mode db``     stops PostgreSQL for ``--outage`` seconds in the middle of the load.

When the load is over and the daemon has caught up (the journal idle, the CDR ledger's next
round), it prints:

- calls Asterisk saw: distinct hotline channels in Asterisk's CDR (``<run>/log/cdr-custom/callcore.csv``),
- calls in the store, missing (seen by Asterisk, not stored), duplicates (a channel stored twice),
  left ``active`` (stored, never ended), and the calls stored from each source (``via``).

The goal: stored = seen, 0 missing, 0 duplicates, 0 active.

    .venv/bin/python bench/faults.py --mode kill --kills 5 --cps 5 --seconds 60
    .venv/bin/python bench/faults.py --mode db --outage 30 --cps 5 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.load import bench_run_dir, bench_stack, common_arguments, raise_fd_limit  # noqa: E402
from bench.sipp import run_uac  # noqa: E402
from callcore.calls.door import HOTLINE_CONTEXT  # noqa: E402
from callcore.calls.ledger import SETTLE, parse  # noqa: E402
from callcore.calls.models import Call, CallEvent  # noqa: E402
from callcore.store.db import Database  # noqa: E402
from harness import sipp as scenarios  # noqa: E402
from harness.postgres import OwnPostgres  # noqa: E402
from harness.stack import Stack, free_port  # noqa: E402


def seen_by_asterisk(stack: Stack) -> dict[str, str]:
    """Hotline channels in Asterisk's CDR: unique id -> channel name."""
    path = stack.settings.cdr_ledger_file
    seen: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = parse(raw)
        if line is not None and line.context == HOTLINE_CONTEXT:
            seen[line.channel_id] = line.channel
    return seen


async def stored(url: str) -> tuple[list[tuple[str, str]], Counter[str]]:
    """(channel id, status) of every inbound call in the store, and how many came from each source."""
    db = Database(url)
    try:
        async with db.session() as s:
            calls = [(c, st) for c, st in (await s.execute(
                select(Call.channel_id, Call.status).where(Call.direction == "inbound"))).all()]
            arrivals = (await s.execute(select(CallEvent.data).where(CallEvent.type == "arrived"))).scalars().all()
    finally:
        await db.close()
    return calls, Counter(str((data or {}).get("via", "stasis")) for data in arrivals)


async def faults(stack: Stack, pg: OwnPostgres, args: argparse.Namespace) -> list[str]:
    """Injects the faults while the load runs; what was done, one line each."""
    done: list[str] = []
    if args.mode == "kill":
        gap = args.seconds / (args.kills + 1)
        for n in range(args.kills):
            await asyncio.sleep(gap)
            await stack.stop_daemon(signal.SIGKILL)
            done.append(f"  {dt.datetime.now():%H:%M:%S} kill -9 #{n + 1}")
            await asyncio.sleep(args.down)
            await stack.start_daemon()
    else:
        await asyncio.sleep(max(0.0, (args.seconds - args.outage) / 2))
        await pg.stop()
        done.append(f"  {dt.datetime.now():%H:%M:%S} PostgreSQL stopped")
        await asyncio.sleep(args.outage)
        await pg.start()
        done.append(f"  {dt.datetime.now():%H:%M:%S} PostgreSQL started")
    return done


async def main(args: argparse.Namespace) -> int:
    raise_fd_limit()
    run_dir = bench_run_dir(args, prefix="callcore-faults-")
    pg = OwnPostgres(free_port())
    await pg.init()
    await pg.start()
    args.database_url = pg.url
    stack = bench_stack(args, run_dir, CALLCORE_FLOW="ivr")
    calls = int(args.cps * args.seconds)
    print(f"callcore fault bench {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: mode {args.mode},"
          f" {calls} calls at {args.cps} CPS, each listening {args.listen} s; {os.cpu_count()} CPUs; run folder {run_dir}",
          flush=True)
    try:
        await stack.start_asterisk()
        await stack.start_daemon()
        load = asyncio.create_task(run_uac(
            stack.sip, service=stack.settings.asterisk.hotline, cps=args.cps, calls=calls, limit=args.limit,
            workdir=run_dir / "sipp", call_timeout_s=args.call_timeout,
            steps=[scenarios.Pause(int(args.listen * 1000)), scenarios.HangUp()]))
        done = await faults(stack, pg, args)
        result = await load
        print("\n".join(done))
        print(f"  SIPp: offered {result.offered}, completed {result.completed}, failed {result.failed}")
        if stack.daemon is None or stack.daemon.returncode is not None:
            await stack.start_daemon()
        # Caught up: the journal has replayed its spool or log, and the ledger has read every line
        # (it reads lines SETTLE s after their channel ended, every 30 s).
        await asyncio.sleep(SETTLE + 35)
        seen = seen_by_asterisk(stack)
        rows, via = await stored(stack.settings.database_url)
    finally:
        await stack.stop_daemon()
        await stack.stop_asterisk()
        await pg.stop()
        pg.remove()
    by_channel = Counter(channel for channel, _ in rows)
    names = {name: uid for uid, name in seen.items()}
    stored_ids = {names.get(channel, channel) for channel in by_channel}
    missing = sorted(set(seen) - stored_ids)
    duplicates = {c: n for c, n in by_channel.items() if n > 1}
    active = [c for c, status in rows if status == "active"]
    print(f"  calls Asterisk saw {len(seen)}; in the store {len(rows)}; missing {len(missing)};"
          f" duplicates {len(duplicates)}; left active {len(active)}")
    print(f"  stored from: {', '.join(f'{k} {v}' for k, v in sorted(via.items()))}")
    if missing[:5] or duplicates or active[:5]:
        print(f"  e.g. missing {missing[:5]} duplicates {list(duplicates)[:5]} active {active[:5]}")
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"kept {run_dir}")
    return 0 if not missing and not duplicates and not active and len(rows) == len(seen) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p, cps=5, call_timeout=60, spy_file="py-spy.txt")
    p.add_argument("--mode", choices=("kill", "db"), default="kill")
    p.add_argument("--kills", type=int, default=5, help="SIGKILLs of the daemon during the load (mode kill)")
    p.add_argument("--down", type=float, default=2.0, help="seconds the killed daemon stays down (mode kill)")
    p.add_argument("--outage", type=float, default=30.0, help="seconds PostgreSQL is stopped (mode db)")
    p.add_argument("--listen", type=float, default=6.0, help="seconds each caller listens before hanging up")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
