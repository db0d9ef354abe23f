"""Concurrent recorded calls (issue 10): how many conversations can be recorded at once on this machine.

Builds on the queue benchmark (``bench/queues.py``: its own Asterisk and daemon on free loopback
ports, the shipped menu open at every hour, the agents created, registered by one SIPp process and
logged in). ``--concurrent N`` agents; N callers are placed at ``--cps`` (a rate that keeps Asterisk
responsive while it also carries the calls already talking), each keys 1 into the general queue, is
answered, hears the agent's number and talks until the agent hangs up ``--talk`` seconds after
answering. ``--talk`` defaults to the ramp (N / cps) plus ``--seconds`` plus 10 s, so all N calls
talk at the same time for about ``--seconds``. Every conversation is recorded by the daemon (MixMonitor on
the caller's channel, over AMI), as in production.

Audio flows both ways: each caller sends sip-tester's A-law sample (``harness.sipp.Speak``, repeated as
one RTP stream: by default SIPp's ``rtp_stream``, one thread for many calls, as a real phone's sending
costs this machine nothing; ``--speak-via pcap`` replays it with a thread per call, about twice the
callers' CPU) from its key until the hotline hangs up, and the agent pool runs with SIPp's
``-rtp_echo``, so every agent's phone sends back what it hears. (The post-call survey is switched
off: it would keep callers on the line after the recording ends; ``--survey`` keeps it.)

After every call ended, the bench reads each call's timeline (``/api/v1/calls/{id}``: the talk time
is ``talk_started`` -> ``talk_ended``) and its recording (``/api/v1/recordings?call_id=``:
``duration`` measured from the audio, ``status``, ``missing``, ``error``), and prints:

- callers: offered / completed / failed (SIPp), INVITE->200; the calls' outcomes (API);
- concurrent calls reached: the peak of calls talking at once (timelines), how long it held, and
  Asterisk's channels (``core show channels count``, sampled);
- recordings: missing, failed, not finished; |measured duration - talk time| p50 / p95 / max and how
  many are over 1 s, and the signed difference (negative: the recording is shorter than the talk);
  how much of each recording is sound (20 ms frames above digital silence), read from the files;
- CPU of the daemon, Asterisk and the agent pool (``/proc/<pid>/stat``) and how busy the machine was,
  over the plateau (while at least 95 % of the peak talk at once);
- disk: bytes Asterisk and the daemon wrote (``/proc/<pid>/io`` ``write_bytes``) and the recordings'
  total size.

Figures are printed, never asserted on time; the exit status is 1 when a call failed or an answered
call has no usable recording.

    .venv/bin/python bench/recorded_calls.py --concurrent 10                 # smoke
    .venv/bin/python bench/recorded_calls.py --concurrent 250 --cps 5        # the goal of issue 10
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import math
import sys
import time
import warnings
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import sipp as bench_sipp  # noqa: E402
from bench.ivr_load import percentile  # noqa: E402
from bench.load import (  # noqa: E402
    active_channels, common_arguments, cpu_seconds, machine_busy, start_py_spy, stop_py_spy, wait_quiet,
)
from bench.queues import (  # noqa: E402
    SERVICE, Api, _at, _first, agent_arguments, check_key, idle_rates, key_steps, make_agents, print_daemon_warnings,
    run_bench, start_pool, start_stack, stats,
)
from callcore.asterisk import process  # noqa: E402
from callcore.recordings.plugin import recordings_dir  # noqa: E402
from harness import sipp as scenarios  # noqa: E402
from harness.stack import Stack  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the frames' loudness in C (deprecated in 3.11, gone in 3.13: then numpy or pydub)

# A 20 ms frame of 16-bit audio whose RMS is above this is sound, not (near) digital silence.
SILENCE_RMS = 64
GOAL_SECONDS = 1.0


# -- the callers' script -----------------------------------------------------------------------------

def caller_steps(args: argparse.Namespace, talk: float) -> list[scenarios.Step]:
    """The key into the queue, then the caller speaking (the sample repeated as one stream) until the
    hotline hangs up, as a phone sends RTP for the whole call: ``talk`` plus the longest wait and the
    agent-number prompt before it (the stream is cut when the call ends)."""
    if args.silent:
        return key_steps(args)
    return [*key_steps(args), scenarios.Speak(int((talk + 60.0) * 1000), wait=False, via=args.speak_via)]


# -- what is sampled while the calls run -------------------------------------------------------------

def write_bytes(pid: int) -> int:
    """Bytes the process caused to be written to storage (``write_bytes`` of /proc/<pid>/io; 0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def context_switches(pid: int) -> tuple[int, int]:
    """(threads, context switches so far of the threads alive now) of a process, from /proc/<pid>/task/*/status."""
    threads = switches = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0, 0
    for task in tasks:
        try:
            text = (task / "status").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # the thread ended
        threads += 1
        for line in text.splitlines():
            if "ctxt_switches:" in line:  # voluntary and nonvoluntary
                switches += int(line.split()[1])
    return threads, switches


def pid_running(marker: str) -> int:
    """The process whose command line contains ``marker`` (0: none), e.g. the callers' SIPp by its scenario's path."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                return int(entry.name)
        except OSError:
            continue
    return 0


def cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid) if pid else 0.0
    except OSError:
        return 0.0


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    cpu: tuple[float, ...]  # CPU seconds of each watched process
    busy: tuple[float, float]  # the machine's (busy, total) CPU seconds
    written: tuple[int, ...]  # write_bytes of each watched process
    channels: int  # Asterisk's active channels (-1: not read)
    asterisk_threads: int
    asterisk_switches: int  # context switches of Asterisk's live threads
    callers_cpu: float  # CPU seconds of the callers' SIPp (0 when it does not run)


async def channels_now(stack: Stack) -> int:
    """Asterisk's active channels; -1 when the CLI does not answer (an overloaded Asterisk)."""
    try:
        return await active_channels(stack)
    except (OSError, RuntimeError):  # RuntimeError: AsteriskError, the CLI's time-out
        return -1


async def take_sample(stack: Stack, pids: tuple[int, ...], *, channels: bool, callers: int = 0) -> Sample:
    """``pids``: the daemon, Asterisk, the agent pool; ``callers``: the callers' SIPp, if running."""
    count = await channels_now(stack) if channels else -1
    threads, switches = context_switches(pids[1])
    return Sample(time.time(), tuple(cpu_seconds(p) for p in pids), machine_busy(),
                  tuple(write_bytes(p) for p in pids), count, threads, switches, cpu_or_zero(callers))


async def sample_until_cancelled(stack: Stack, pids: tuple[int, ...], every: float, out: list[Sample], *,
                                 callers_marker: str) -> None:
    callers = 0
    while True:
        if not callers:
            callers = pid_running(callers_marker)
        out.append(await take_sample(stack, pids, channels=True, callers=callers))
        await asyncio.sleep(every)


# -- reading the calls back --------------------------------------------------------------------------

@dataclass
class CallFacts:
    id: str
    outcome: str
    talk: tuple[float, float] | None  # talk_started, talk_ended (epoch seconds)
    recordings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def talk_seconds(self) -> float | None:
        return self.talk[1] - self.talk[0] if self.talk else None


def call_facts(call: dict[str, Any], detail: dict[str, Any], recordings: list[dict[str, Any]]) -> CallFacts:
    started, ended = _first(detail["timeline"], "talk_started"), _first(detail["timeline"], "talk_ended")
    talk = (_at(started["at"]), _at(ended["at"])) if started and ended else None
    return CallFacts(call["id"], str(call.get("outcome") or call.get("status")), talk, recordings)


async def recordings_of(api: Api, call_ids: list[str], *, timeout: float = 90) -> dict[str, list[dict[str, Any]]]:
    """Each call's recording rows, once none is still ``recording`` (the daemon measures each file
    after the call; bounded by ``timeout``, then what is there)."""
    deadline = time.monotonic() + timeout
    rows: dict[str, list[dict[str, Any]]] = {}
    pending = list(call_ids)
    while pending:
        pages = await asyncio.gather(*(api.call("GET", "/recordings", call_id=c, limit=10) for c in pending))
        for c, page in zip(pending, pages):
            rows[c] = list(page["items"])
        pending = [c for c in pending if any(r["status"] == "recording" for r in rows[c])]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    return rows


def talking_steps(calls: list[CallFacts]) -> list[tuple[float, int]]:
    """(time, calls talking from then on), in time order, from every call's talk interval."""
    edges = sorted([(c.talk[0], 1) for c in calls if c.talk] + [(c.talk[1], -1) for c in calls if c.talk],
                   key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    steps: list[tuple[float, int]] = []
    n = 0
    for at, delta in edges:
        n += delta
        steps.append((at, n))
    return steps


def longest_at_least(steps: list[tuple[float, int]], level: int) -> tuple[float, float] | None:
    """The longest interval during which at least ``level`` calls talked."""
    best: tuple[float, float] | None = None
    began: float | None = None
    for at, n in steps:
        if n >= level and began is None:
            began = at
        elif n < level and began is not None:
            if best is None or at - began > best[1] - best[0]:
                best = (began, at)
            began = None
    return best


def mean_talking(steps: list[tuple[float, int]], window: tuple[float, float]) -> float:
    """The mean number of calls talking over ``window`` (the step function integrated)."""
    area, n, at = 0.0, 0, window[0]
    for t, k in steps:
        if t > window[0]:
            area += n * (min(t, window[1]) - at)
            at = min(t, window[1])
        if t >= window[1]:
            break
        n = k
    area += n * (window[1] - at)
    return area / (window[1] - window[0]) if window[1] > window[0] else 0.0


async def file_times(paths: list[Path]) -> dict[str, tuple[float, float]]:
    """Each file's (birth, last modification) as epoch seconds, by name: when Asterisk created the
    recording and last wrote to it (GNU ``stat``: Python 3.11 has no birth time on Linux; a file
    system without birth times gives 0)."""
    out: dict[str, tuple[float, float]] = {}
    for i in range(0, len(paths), 200):  # a bounded command line
        proc = await asyncio.create_subprocess_exec(
            "stat", "-c", "%n|%.9W|%.9Y", *map(str, paths[i:i + 200]),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        text, _ = await proc.communicate()
        for line in text.decode("utf-8", "replace").splitlines():
            name, born, modified = line.rsplit("|", 2)
            out[Path(name).stem] = (float(born), float(modified))
    return out


def sound_share(path: Path) -> float:
    """The share of 20 ms frames of a WAV recording that are sound (RMS above ``SILENCE_RMS``)."""
    with wave.open(str(path), "rb") as w:
        width, rate = w.getsampwidth(), w.getframerate()
        frame = rate // 50
        loud = total = 0
        while chunk := w.readframes(frame):
            total += 1
            loud += audioop.rms(chunk, width) > SILENCE_RMS
    return loud / total if total else 0.0


@dataclass(frozen=True)
class Rates:
    cpu: list[float]  # fraction of one CPU, per watched process
    busy: float  # the machine's busy share
    written: list[float]  # bytes per second, per watched process
    switches: float  # Asterisk's context switches per second (threads alive through the window)
    callers_cpu: float  # fraction of one CPU the callers' SIPp used
    threads: int  # Asterisk's threads at the window's end
    span: float  # seconds covered


def rate_over(samples: list[Sample], window: tuple[float, float]) -> Rates | None:
    """The rates between the first and the last sample inside ``window``."""
    inside = [s for s in samples if window[0] <= s.at <= window[1]]
    if len(inside) < 2:
        return None
    a, b = inside[0], inside[-1]
    span = b.at - a.at
    return Rates(cpu=[(y - x) / span for x, y in zip(a.cpu, b.cpu)],
                 busy=(b.busy[0] - a.busy[0]) / max(b.busy[1] - a.busy[1], 1e-9),
                 written=[(y - x) / span for x, y in zip(a.written, b.written)],
                 switches=max(0, b.asterisk_switches - a.asterisk_switches) / span, threads=b.asterisk_threads,
                 callers_cpu=(b.callers_cpu - a.callers_cpu) / span, span=span)


def dist(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """p50, p95 and max."""
    return stats(values, unit, digits, high=95)


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


# -- the figures -------------------------------------------------------------------------------------

def print_concurrency(talking_at: list[tuple[float, int]], samples: list[Sample], *,
                      every: float) -> tuple[int, tuple[float, float] | None, int]:
    """Prints the peak of calls talking at once; (the peak, the plateau: the longest interval with at
    least 95 % of it talking, that level)."""
    peak = max((k for _, k in talking_at), default=0)
    at_peak = longest_at_least(talking_at, peak) if peak else None
    level = max(1, math.floor(0.95 * peak))
    plateau = longest_at_least(talking_at, level) if peak else None
    chans = [s.channels for s in samples if s.channels >= 0]
    print(f"  concurrent calls reached (timelines): peak {peak} talking at once"
          + (f", held {at_peak[1] - at_peak[0]:.1f} s" if at_peak else "")
          + (f"; >= {level} (95 %) for {plateau[1] - plateau[0]:.1f} s" if plateau else "")
          + f"; Asterisk channels peak {max(chans, default=-1)} ({every:g} s samples)")
    return peak, plateau, level


async def print_recordings(answered: list[CallFacts], folder: Path) -> tuple[int, int, int]:
    """Prints what became of the answered calls' recordings; (answered calls with no usable
    recording, recordings more than ``GOAL_SECONDS`` off their talk time, recordings measured)."""
    without = [c for c in answered if not c.recordings]
    flagged = [r for c in answered for r in c.recordings if r["missing"] or r["status"] == "failed" or r["error"]]
    unfinished = [r for c in answered for r in c.recordings if r["status"] == "recording"]
    errors = collections.Counter(str(r["error"])[:80] for r in flagged)
    print(f"  recordings: {sum(len(c.recordings) for c in answered)} for {len(answered)} answered calls;"
          f" calls without one {len(without)}; missing or failed {len(flagged)}"
          f"{' ' + str(dict(errors.most_common(3))) if errors else ''}; still 'recording' {len(unfinished)}")
    files = [p for c in answered for p in folder.glob(f"call-{c.id}-*.wav")]
    times = await file_times(files)
    diffs: list[float] = []
    shares_lost: list[float] = []  # (talk time - recording duration) / talk time, in %
    opened: list[float] = []  # the daemon's start request -> the file created
    closed: list[float] = []  # the daemon's stop request -> the file's last write
    lost: list[float] = []  # the file's life (created -> last write) less the audio in it
    for c in answered:
        done = [r for r in c.recordings if r["duration"] is not None and not r["missing"]]
        if done and c.talk_seconds is not None:
            rec = done[0]
            diffs.append(float(rec["duration"]) - c.talk_seconds)
            shares_lost.append(100 * (c.talk_seconds - float(rec["duration"])) / max(c.talk_seconds, 1e-9))
            born, modified = times.get(f"call-{c.id}-{rec['id'][:8]}", (0.0, 0.0))
            if born and rec["ended_at"]:
                opened.append(born - _at(rec["started_at"]))
                closed.append(modified - _at(rec["ended_at"]))
                lost.append(modified - born - float(rec["duration"]))
    over = sum(1 for d in diffs if abs(d) > GOAL_SECONDS)
    print(f"  talk time (talk_started -> talk_ended) {dist([c.talk_seconds for c in answered if c.talk_seconds is not None])}")
    print(f"  |recording duration - talk time| {dist([abs(d) for d in diffs])}; over {GOAL_SECONDS:g} s: {over}")
    if diffs:
        print(f"    signed (recording - talk): p5 {percentile(diffs, 5):+.2f} s   p50 {percentile(diffs, 50):+.2f} s"
              f"   p95 {percentile(diffs, 95):+.2f} s; the talk time missing from the recording {dist(shares_lost, '%', 1)}")
    print(f"    the daemon's start request -> the file created: {dist(opened)}")
    print(f"    the daemon's stop request -> the file's last write: {dist(closed)}")
    print(f"    audio missing inside the file (created -> last write, less its duration): {dist(lost)}")
    shares = await asyncio.to_thread(lambda: [sound_share(p) for p in files])
    if shares:
        print(f"  sound in the recordings (20 ms frames above digital silence): p50 {100 * percentile(shares, 50):.0f} %"
              f"   min {100 * min(shares):.0f} %   ({len(files)} files)")
    return len(without) + len(flagged), over, len(diffs)


def print_load(samples: list[Sample], talking_at: list[tuple[float, int]], plateau: tuple[float, float] | None,
               level: int, *, idle: list[float], first: Sample, last: Sample) -> None:
    """Prints the CPU of the daemon, Asterisk, the pool and the callers over the plateau and the whole run."""
    names = ("daemon", "asterisk", "agent pool")
    if plateau is not None and (r := rate_over(samples, plateau)) is not None:
        talking = max(mean_talking(talking_at, plateau), 1.0)
        print(f"  CPU over the plateau ({r.span:.0f} s of samples, >= {level} talking, {talking:.1f} on average): "
              + "   ".join(f"{name} {100 * c:.0f}%" for name, c in zip(names, r.cpu))
              + f"   callers' SIPp {100 * r.callers_cpu:.0f}% of a CPU (idle before:"
              f" {', '.join(f'{100 * i:.1f}%' for i in idle)}); machine {100 * r.busy:.0f}% busy")
        print(f"    per talking call: asterisk {1000 * (r.cpu[1] - idle[1]) / talking:.2f} ms/s of CPU,"
              f" {r.switches / talking:.0f} context switches/s, {(r.threads - first.asterisk_threads) / talking:.1f}"
              f" threads; daemon {1000 * (r.cpu[0] - idle[0]) / talking:.2f} ms/s; written: asterisk"
              f" {mb(r.written[1])}/s, daemon {mb(r.written[0])}/s")
    else:
        print("  CPU over the plateau: too short to sample (raise --seconds or lower --sample-every)")
    whole = last.at - first.at
    print(f"  CPU over the whole run ({whole:.0f} s): "
          + "   ".join(f"{name} {100 * (b - a) / whole:.0f}%" for name, a, b in zip(names, first.cpu, last.cpu))
          + f"; machine {100 * (last.busy[0] - first.busy[0]) / max(last.busy[1] - first.busy[1], 1e-9):.0f}% busy")


# -- the test ----------------------------------------------------------------------------------------

async def recorded(args: argparse.Namespace, stack: Stack, run_dir: Path) -> int:
    n = args.concurrent
    ramp = n / args.cps
    agents = await make_agents(args, stack, n)
    steps = caller_steps(args, args.talk)
    speaking = sum(s.ms for s in steps if isinstance(s, scenarios.Speak)) / 1000
    intro = (min(agents.intro_len.values()), max(agents.intro_len.values()))
    print(f"  {n} agents ({agents.numbers[0]}..{agents.numbers[-1]}) made in {agents.made_s:.1f} s; each answers after"
          f" {args.answer_after} s and hangs up {args.talk:g} s later (the agent-number prompt, {intro[0]:.1f}-{intro[1]:.1f} s,"
          f" plays first); phones {'silent' if args.silent else 'echo the audio they get (-rtp_echo)'}", flush=True)
    sender = "rtp_stream" if args.speak_via == "stream" else "a pcap replay per call"
    print(f"  {n} callers at {args.cps:g} CPS ({ramp:.0f} s ramp), each speaking until hung up (sip-tester's A-law"
          f" sample repeated as one stream by {sender}, up to {speaking:.0f} s); expected overlap of all {n}:"
          f" ~{args.talk - ramp - intro[1]:.0f} s; post-call survey {'on' if args.survey else 'off'}", flush=True)
    daemon_pid, asterisk_pid = await start_stack(stack)
    print(f"  Asterisk at {'real-time' if process.realtime(asterisk_pid) else 'normal'} priority (asterisk.realtime);"
          f" phones (SIPp) at {'real-time priority above it' if args.phones_realtime else 'normal priority'}", flush=True)
    api = Api(stack)
    samples: list[Sample] = []
    status = 1
    pool = None
    try:
        pool, registered_in, ready_in = await start_pool(args, stack, run_dir, api, agents.numbers,
                                                         extra=[] if args.silent else ["-rtp_echo"])
        print(f"  pool registered {len(pool.registered())} agents in {registered_in:.1f} s; all logged in and seen"
              f" registered {ready_in:.1f} s later", flush=True)
        if args.phones_realtime and pool.proc:
            bench_sipp.make_realtime(pool.proc.pid)
        await wait_quiet([daemon_pid, asterisk_pid])
        pids = (daemon_pid, asterisk_pid, pool.proc.pid if pool.proc else 0)
        idle = await idle_rates(pids)
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        log_since = time.time()
        first = await take_sample(stack, pids, channels=False)
        spy = await start_py_spy(daemon_pid, run_dir / "py-spy-recorded.txt") if args.py_spy else None
        callers_dir = run_dir / "sipp" / "callers"
        sampler = asyncio.ensure_future(sample_until_cancelled(stack, pids, args.sample_every, samples,
                                                               callers_marker=str(callers_dir / "uac.xml")))
        try:
            run = await bench_sipp.run_uac(
                stack.sip, service=SERVICE, cps=args.cps, calls=n, limit=max(args.limit, n + 10),
                # The BYE wait longer than the key, the wait, the agent-number prompt and the talk together:
                # with the talk alone a caller timed out just before the agent's BYE (a failed call).
                workdir=callers_dir, call_timeout_s=max(args.call_timeout, args.talk + 60), steps=steps,
                realtime=bench_sipp.PHONES_PRIORITY if args.phones_realtime else 0)
            deadline = time.monotonic() + 60
            while await channels_now(stack) != 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        await wait_quiet([daemon_pid, asterisk_pid])
        await stop_py_spy(spy)
        last = await take_sample(stack, pids, channels=False)
        t_read = time.monotonic()
        for _ in range(15):  # the journal closes a call shortly after its channels are gone
            calls = await api.calls_since(since)
            if all(c.get("status") != "active" for c in calls):
                break
            await asyncio.sleep(1.0)
        details = await api.details([c["id"] for c in calls])
        rows = await recordings_of(api, [c["id"] for c in calls])
        facts = [call_facts(c, d, rows.get(c["id"], [])) for c, d in zip(calls, details)]
        read_s = time.monotonic() - t_read

        print(f"[recorded calls] {n} concurrent calls wanted: service {SERVICE}, key {args.key}, queue, agent, "
              f"{args.talk:g} s, the agent hangs up; every conversation recorded (MixMonitor)")
        print(f"  callers: offered {run.offered}   completed {run.completed}   failed {run.failed}"
              f"   (SIPp ran {run.wall_seconds:.0f} s, peak {run.peak_concurrent} calls up)")
        print(f"  INVITE->200 {dist(run.rtd_ms, 'ms', 0)}")
        outcomes = collections.Counter(c.outcome for c in facts)
        print(f"  stored calls: {len(facts)}; outcomes {dict(outcomes.most_common())}; "
              f"{sum(1 for c in facts if c.talk)} with talk_started and talk_ended")

        talking_at = talking_steps(facts)
        peak, plateau, level = print_concurrency(talking_at, samples, every=args.sample_every)
        answered = [c for c in facts if c.talk]
        unusable, over, measured = await print_recordings(answered, recordings_dir(stack.settings))
        print_load(samples, talking_at, plateau, level, idle=idle, first=first, last=last)
        sizes = sum(int(r["size"] or 0) for c in answered for r in c.recordings)
        talk_minutes = sum(c.talk_seconds or 0.0 for c in answered) / 60
        print(f"  disk: asterisk wrote {mb(last.written[1] - first.written[1])}, daemon {mb(last.written[0] - first.written[0])};"
              f" recordings {mb(sizes)} ({mb(sizes / max(talk_minutes, 1e-9))} per talk minute)")
        print(f"  read back in {read_s:.1f} s")
        print_daemon_warnings(stack, since=log_since)
        good = run.failed == 0 and run.completed == run.offered and not unusable
        print(f"  goal ({n} concurrent, every recording within {GOAL_SECONDS:g} s of its talk time):"
              f" {'met' if good and peak >= n and over == 0 and measured == n else 'not met'}")
        status = 0 if good else 1
    finally:
        await api.close()
        if pool is not None:
            await pool.stop()
    return status


async def main(args: argparse.Namespace) -> int:
    env = {} if args.survey else {"CALLCORE_SURVEYS_ENABLED": "false"}
    return await run_bench(args, recorded, prefix="callcore-recorded-bench-", title="callcore recorded-calls bench",
                           max_call_seconds=args.talk + max(args.call_timeout, args.talk) + 60, **env)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p, cps=5, call_timeout=90, spy_file="py-spy-recorded.txt")
    for action in p._actions:
        if action.dest == "seconds":
            action.help = "seconds all N calls should talk at once, when --talk is not given (default 30)"
        elif action.dest == "call_timeout":
            action.help = "seconds a caller waits for the hotline's BYE after it stopped speaking, at least --talk (default 90)"
    p.add_argument("--concurrent", type=int, default=10, help="calls talking at once: agents and callers (default 10)")
    agent_arguments(p, talk=None, talk_help="seconds an agent talks before hanging up (default: N / --cps + --seconds + 10)")
    p.add_argument("--sample-every", type=float, default=2.0, help="seconds between CPU, disk and channel samples (default 2)")
    p.add_argument("--survey", action="store_true", help="keep the post-call survey on (default off)")
    p.add_argument("--speak-via", choices=("stream", "pcap"), default="stream",
                   help="how callers send their speech: SIPp's rtp_stream, one thread for many calls (default), or a "
                        "pcap replay thread per call (harness.sipp.Speak)")
    p.add_argument("--phones-realtime", action="store_true",
                   help="the callers' and agents' SIPp at a real-time priority above Asterisk's: phones have CPUs of "
                        "their own, so the server's load cannot delay their packets (bench/sipp.make_realtime)")
    p.add_argument("--silent", action="store_true", help="no audio from the phones: callers do not speak, agents do not echo")
    args = p.parse_args(argv)
    check_key(p, args)
    if args.concurrent < 1 or args.cps <= 0:
        p.error("--concurrent and --cps must be positive")
    if args.talk is None:
        args.talk = math.ceil(args.concurrent / args.cps + args.seconds + 10)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
