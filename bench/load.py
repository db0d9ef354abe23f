"""Load benchmark (issue 2): the daemon's welcome flow against the same flow done by the dialplan.

Starts its own Asterisk and daemon in a fresh run folder on free ports (the journeys' ``Stack``),
then drives SIPp at ``--cps`` for ``--seconds`` at

  (a) ``welcome``  — service 96881: the daemon answers, plays the welcome prompt, hangs up;
  (b) ``dialplan`` — service ``bench-dialplan``: Answer, Playback(welcome), Hangup in the dialplan;

and prints, for each: offered, completed and failed calls, sustained CPS, p50/p99 INVITE→200
time, and the CPU seconds per 1,000 calls of the daemon and of Asterisk. Then the ratio a/b.

    .venv/bin/python bench/load.py --cps 200 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import shutil
import signal
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sipp import SippRun, run_uac  # noqa: E402
from callcore.asterisk import process  # noqa: E402
from callcore.prompts.audio import read_wav, write_prompt  # noqa: E402
from callcore.prompts.system import system_prompts  # noqa: E402
from harness.stack import Stack  # noqa: E402

FLOWS = {"welcome": "96881", "dialplan": "bench-dialplan"}
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat, after the ``(comm)``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


@dataclass
class FlowResult:
    flow: str
    sipp: SippRun
    daemon_cpu: float
    asterisk_cpu: float
    machine_busy_pct: float
    stored: int | None = None

    @property
    def sustained_cps(self) -> float:
        return self.sipp.completed / self.sipp.offer_seconds if self.sipp.offer_seconds else 0.0

    def lines(self) -> list[str]:
        s = self.sipp
        per_k = 1000 / s.offered if s.offered else 0.0  # every offered call reached Asterisk (and the daemon)
        out = [
            f"[{self.flow}] service {FLOWS[self.flow]}",
            f"  offered {s.offered}   completed {s.completed}   failed {s.failed}",
            f"  sustained {self.sustained_cps:.1f} CPS  (completed / {s.offer_seconds:.2f} s of call creation;"
            f" SIPp ran {s.wall_seconds:.1f} s, peak {s.peak_concurrent} calls up)",
            f"  INVITE->200 p50 {s.percentile(50):.1f} ms   p99 {s.percentile(99):.1f} ms   max {s.percentile(100):.1f} ms"
            f"   ({len(s.rtd_ms)} samples)",
            f"  CPU s / 1,000 offered calls: daemon {self.daemon_cpu * per_k:.2f}   asterisk {self.asterisk_cpu * per_k:.2f}"
            f"   (machine {self.machine_busy_pct:.0f}% busy while SIPp ran)",
        ]
        if self.stored is not None:
            out.append(f"  stored by the daemon: {self.stored} calls ended")
        return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from the ``cpu`` line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) / _TICK for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def shorten_prompt(wav: Path, seconds: float) -> float:
    """Cuts the prompt (the WAV and its G.711 twins) to its first ``seconds``; returns its new length."""
    cut = read_wav(wav)[: int(seconds * 1000)]
    write_prompt(cut, wav.with_suffix(""))
    return len(cut) / 1000


def prompt_seconds(wav: Path) -> float:
    with wave.open(str(wav), "rb") as w:
        return w.getnframes() / w.getframerate()


async def wait_quiet(pids: list[int], *, idle_cpu: float = 0.03, timeout: float = 60) -> None:
    """Until the processes use almost no CPU for a second (channels gone, journal drained)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = sum(cpu_seconds(p) for p in pids)
    while loop.time() < deadline:
        await asyncio.sleep(1.0)
        now = sum(cpu_seconds(p) for p in pids)
        if now - last < idle_cpu * len(pids):
            return
        last = now


async def active_channels(stack: Stack) -> int:
    out = await stack.cli("core show channels count")
    for line in out.splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return -1


async def run_flow(stack: Stack, flow: str, args: argparse.Namespace, daemon_pid: int, asterisk_pid: int) -> FlowResult:
    await wait_quiet([daemon_pid, asterisk_pid])
    d0, a0, m0 = cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid), machine_busy()
    before = await stored_calls(stack) if flow == "welcome" else None
    spy = await start_py_spy(daemon_pid, stack.run_dir / f"py-spy-{flow}.txt") if args.py_spy else None
    run = await run_uac(
        stack.sip, service=FLOWS[flow], cps=args.cps, calls=int(args.cps * args.seconds), limit=args.limit,
        workdir=stack.run_dir / "sipp" / flow, call_timeout_s=args.call_timeout,
    )
    m1 = machine_busy()
    # Calls end with the prompt; what the daemon does for them ends with the journal's last write.
    deadline = asyncio.get_running_loop().time() + 60
    while await active_channels(stack) > 0 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
    await wait_quiet([daemon_pid, asterisk_pid])
    await stop_py_spy(spy)
    result = FlowResult(
        flow, run, cpu_seconds(daemon_pid) - d0, cpu_seconds(asterisk_pid) - a0,
        machine_busy_pct=100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9),
    )
    if before is not None:
        after = await stored_calls(stack)
        result.stored = after - before if after is not None else None
    return result


async def start_py_spy(pid: int, out: Path) -> asyncio.subprocess.Process:
    """Samples the daemon's stack holding the GIL (collapsed, one line per stack with its count) until SIGINT."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking", "--gil",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )


async def stop_py_spy(spy: asyncio.subprocess.Process | None) -> None:
    """Stops a sampler started by ``start_py_spy`` (SIGINT: it writes its output then)."""
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        await spy.wait()


async def stored_calls(stack: Stack) -> int | None:
    try:
        body = await stack.get("/calls", status="ended", limit=1)
    except AssertionError:
        return None
    return int(body.get("total", -1))


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def bench_run_dir(args: argparse.Namespace, *, prefix: str) -> Path:
    """``--run-dir``, or a fresh temporary folder."""
    run_dir = Path(args.run_dir) if args.run_dir else Path(tempfile.mkdtemp(prefix=prefix))
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def bench_stack(args: argparse.Namespace, run_dir: Path, **env: str) -> Stack:
    """The stack in ``run_dir``, configured from the common options; ``env`` adds or overrides settings."""
    env = {
        "CALLCORE_ASTERISK_RTP_START": str(args.rtp_start),
        "CALLCORE_ASTERISK_RTP_END": str(args.rtp_end),
        "CALLCORE_ASTERISK_HTTP_SESSION_LIMIT": str(args.http_session_limit),
        "CALLCORE_ASTERISK_MAX_CALL_SECONDS": "120",
        "CALLCORE_LOG_LEVEL": args.log_level,
        "CALLCORE_ASTERISK_REALTIME": "false" if args.asterisk_normal_priority else "true",
        **({"CALLCORE_DATABASE_URL": args.database_url} if args.database_url else {}),
        **env,
    }
    return Stack.create(run_dir, **env)


def common_arguments(p: argparse.ArgumentParser, *, cps: float, call_timeout: float, spy_file: str) -> None:
    """The options both load benchmarks take."""
    p.add_argument("--cps", type=float, default=cps, help=f"calls per second offered (default {cps:g})")
    p.add_argument("--seconds", type=float, default=30, help="how long calls are offered (default 30)")
    p.add_argument("--database-url", help="the daemon's database (default SQLite in the run folder)")
    p.add_argument("--limit", type=int, default=3000, help="SIPp's cap on calls up at once (-l, default 3000)")
    p.add_argument("--call-timeout", type=float, default=call_timeout, help="seconds one call may take before it fails")
    p.add_argument("--rtp-start", type=int, default=10000)
    p.add_argument("--rtp-end", type=int, default=29999)
    p.add_argument("--http-session-limit", type=int, default=200, help="Asterisk http.conf sessionlimit")
    p.add_argument("--asterisk-normal-priority", action="store_true",
                   help="Asterisk at normal priority (asterisk.realtime false; default real-time, as in production)")
    p.add_argument("--log-level", default="INFO", help="the daemon's log level")
    p.add_argument("--run-dir", help="run folder (default a fresh temporary one)")
    p.add_argument("--py-spy", action="store_true", help=f"sample the daemon with py-spy ({spy_file}; implies --keep)")
    p.add_argument("--keep", action="store_true", help="keep the run folder (logs, SIPp CSVs)")


async def main(args: argparse.Namespace) -> int:
    fds = raise_fd_limit()  # inherited by Asterisk, the daemon and SIPp
    # Flow (a) is the welcome flow (the daemon's default is the IVR since 4cac919).
    run_dir = bench_run_dir(args, prefix="callcore-bench-")
    stack = bench_stack(args, run_dir, CALLCORE_FLOW="welcome")
    welcome = (await system_prompts(stack.settings.sounds_dir))["welcome"].with_suffix(".wav")
    if args.prompt_seconds is not None:
        shorten_prompt(welcome, args.prompt_seconds)
    flows = [args.flow] if args.flow else ["welcome", "dialplan"]
    print(f"callcore load bench {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: {args.cps} CPS x {args.seconds} s,"
          f" flows {', '.join(flows)}; {os.cpu_count()} CPUs; open files {fds}; run folder {run_dir}", flush=True)
    print(f"  database {stack.settings.database_url}; RTP {args.rtp_start}-{args.rtp_end};"
          f" http sessionlimit {args.http_session_limit}; welcome prompt {prompt_seconds(welcome):.2f} s", flush=True)
    results: list[FlowResult] = []
    try:
        await stack.start_asterisk()
        asterisk_pid = process.running_pid(run_dir)
        assert asterisk_pid is not None
        await stack.start_daemon()
        assert stack.daemon is not None
        for flow in flows:
            result = await run_flow(stack, flow, args, stack.daemon.pid, asterisk_pid)
            results.append(result)
            print("\n".join(result.lines()), flush=True)
    finally:
        await stack.stop_daemon()
        await stack.stop_asterisk()
    by = {r.flow: r for r in results}
    if "welcome" in by and "dialplan" in by and by["dialplan"].sustained_cps:
        ratio = by["welcome"].sustained_cps / by["dialplan"].sustained_cps
        print(f"ratio welcome / dialplan sustained CPS: {ratio:.3f}")
    if not (args.keep or args.py_spy):
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"kept {run_dir} (logs in log/, SIPp files in sipp/)")
    return 0 if all(r.sipp.failed == 0 and r.sipp.completed == r.sipp.offered for r in results) else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p, cps=200, call_timeout=30, spy_file="py-spy-<flow>.txt")
    p.add_argument("--flow", choices=sorted(FLOWS), help="run only this flow (default both, welcome first)")
    p.add_argument("--prompt-seconds", type=float,
                   help="cut the welcome prompt (in the bench's own run folder, for both flows) to this many seconds")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
