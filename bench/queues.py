"""Queue benchmark (issue 9): callers key through the 96881 menu into the general queue and talk to agents.

Starts its own Asterisk and daemon (``CALLCORE_FLOW=ivr``, the shipped menu open at every hour, a
queues file written here) in a fresh run folder on free loopback ports, as ``bench/load.py`` does,
and runs one of two tests. Figures are printed, never asserted on time.

**Flow** (default). ``--agents`` agents (2001, 2002, ...) are created in the store, registered by
ONE SIPp process acting as every agent's phone (``harness/agent_pool.py``: it answers each INVITE
after ``--answer-after`` seconds and hangs up ``--talk`` seconds later) and logged in through the
API. A SIPp UAC then places ``--cps`` calls per second for ``--seconds``: each keys ``--key`` (SIP
INFO) ``--key-after-ms`` after the ACK, waits in the queue, hears the agent's number, talks, and
answers the hotline's BYE when the agent hangs up. Printed:

- callers: offered / completed / failed (SIPp), sustained CPS, INVITE->200;
- outcomes of the calls stored since the start (calls API), and the queue wait;
- agent answered -> bridged, from each answered call's timeline (``agent_answered`` -> ``bridged``;
  the agent-number announcement plays in between, so its length is printed beside it);
- screen pop: the ``agent_ringing`` event time -> the moment the agent's WebSocket
  (``/api/v1/agents/{number}/events``) delivered the ``screen_pop``, for ``--ws-agents`` agents
  (every live subscriber costs the daemon a wake-up per published event, so not all of them);
- the agent pool's own count of INVITEs, answers and hang-ups; CPU per call of the daemon, Asterisk
  and the pool (``/proc/<pid>/stat`` utime+stime), and how busy the machine was.

**Hold** (``--hold N``). One agent is logged in with no phone registered, so the queue is staffed
and nobody can be rung: N callers (``--hold-cps`` per second) enter and wait with music and
position announcements every ``--announce-every`` seconds. Once they all wait (or the ramp plus
``--hold-settle`` seconds passed), the CPU of the daemon and of Asterisk is read over
``--hold-window`` seconds; then the callers hang up. Printed: how many waited at once (wallboard,
Asterisk channels), the CPU per waiting caller, and the announcements heard during the window.

    .venv/bin/python bench/queues.py --cps 5 --seconds 20 --agents 60          # modest
    .venv/bin/python bench/queues.py --cps 50 --seconds 30 --agents 700        # the goal (50 CPS)
    .venv/bin/python bench/queues.py --hold 1000                                # the hold goal
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import yaml  # noqa: E402

from bench import sipp as bench_sipp  # noqa: E402
from bench.ivr_load import percentile, prepare_menu  # noqa: E402
from bench.load import (  # noqa: E402
    active_channels, bench_run_dir, bench_stack, common_arguments, cpu_seconds, machine_busy, prompt_seconds,
    raise_fd_limit, start_py_spy, stop_py_spy, wait_quiet,
)
from callcore.asterisk import process  # noqa: E402
from callcore.core.errors import Conflict  # noqa: E402
from callcore.prompts.synth import ensure_prompt, prompt_path  # noqa: E402
from callcore.queues.estimate import announcement_text  # noqa: E402
from callcore.queues.speech import agent_intro_text  # noqa: E402
from harness import sipp as scenarios  # noqa: E402
from harness.agent_pool import AgentPool  # noqa: E402
from harness.menus import SHIPPED, always_open  # noqa: E402
from harness.stack import Stack  # noqa: E402

SERVICE = "96881"
QUEUE = "general"
DISPLAY_NAME = "综合服务"
FIRST_AGENT = 2001


# -- the menu, the queues file, the prompts ------------------------------------------------------------

def menu_route(menu_text: str, key: str | None) -> tuple[list[str], str]:
    """The nodes a caller passes from the welcome menu keying ``key`` (None: no key, the menu's
    fallback) up to a queue node, and that queue's name; exits when the key leads elsewhere."""
    nodes = yaml.safe_load(menu_text)["nodes"]
    welcome = nodes["welcome"]
    nxt = (welcome.get("choices") or {}).get(key) if key is not None else welcome.get("fallback")
    path = ["welcome"]
    for _ in range(10):
        if nxt is None or nxt not in nodes:
            raise SystemExit(f"key {key!r} in the welcome menu leads nowhere ({path}): check ivr/main.yaml")
        path.append(nxt)
        node = nodes[nxt]
        if node["type"] == "queue":
            return path, str(node["queue"])
        if node["type"] != "set":
            raise SystemExit(f"key {key!r} leads to {node['type']} node {nxt!r}, not a queue: {' > '.join(path)}")
        nxt = node.get("next")
    raise SystemExit(f"key {key!r}: no queue within 10 nodes: {' > '.join(path)}")


def queues_file(members: list[str], args: argparse.Namespace, *, announce_every: float, max_wait: float) -> str:
    """The bench's queues: ``general`` with every agent, and ``complaint`` (the menu names it too)."""
    general = {
        "name": QUEUE, "display_name": DISPLAY_NAME, "strategy": args.strategy, "ring_timeout": args.ring_timeout,
        "retry_delay": 1, "wrap_up": args.wrap_up, "max_wait": max_wait, "on_max_wait": "fallback",
        "announce_every": announce_every, "members": [{"agent": a, "penalty": 0} for a in members],
    }
    complaint = {**general, "name": "complaint", "display_name": "投诉举报"}
    return json.dumps({"queues": [general, complaint]}, ensure_ascii=False)  # JSON is YAML


async def warm_prompts(texts: list[str], sounds_dir: Path, *, parallel: int = 4) -> float:
    """Synthesizes ``texts`` into the run folder's cache, as a daemon that ran for a while has them;
    returns the seconds it took."""
    started = time.monotonic()
    sem = asyncio.Semaphore(parallel)

    async def one(text: str) -> None:
        async with sem:
            await ensure_prompt(text, sounds_dir)

    await asyncio.gather(*(one(t) for t in texts))
    return time.monotonic() - started


async def create_agents(stack: Stack, numbers: list[str]) -> float:
    """The agents in the store (``Stack.add_agent``, before Asterisk starts: one render reads them all).

    A ``--database-url`` kept from an earlier run already holds them: the bench stops and says so
    (its figures would mix two runs' calls) rather than dropping a database it was given."""
    started = time.monotonic()
    for n in numbers:
        try:
            await stack.add_agent(n, f"坐席{n}")
        except Conflict as exc:
            raise SystemExit(f"{stack.settings.database_url} already holds the bench's agents ({exc}): give the bench"
                             " an empty database (e.g. dropdb and createdb it again)") from None
    return time.monotonic() - started


# -- the API -----------------------------------------------------------------------------------------

class Api:
    """The daemon's API as the admin (the stack's bearer token), with bounded concurrency."""

    def __init__(self, stack: Stack, *, parallel: int = 16) -> None:
        self.base = stack.api
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"},
                                          timeout=aiohttp.ClientTimeout(total=30))
        self.sem = asyncio.Semaphore(parallel)

    async def close(self) -> None:
        await self.http.close()

    async def call(self, method: str, path: str, *, ok: tuple[int, ...] = (), **params: Any) -> Any:
        async with self.sem:
            async with self.http.request(method, self.base + path, params={k: str(v) for k, v in params.items()}) as r:
                body = await r.text()
                if r.status >= 400 and r.status not in ok:
                    raise AssertionError(f"{method} {path}: {r.status} {body[:500]}")
                return json.loads(body) if body else None

    async def log_in(self, numbers: list[str], *, registered: bool, timeout: float = 60) -> float:
        """Logs the agents in and waits (bounded) until each is available (and, with ``registered``,
        until the daemon knows its phone is registered); returns the seconds it took."""
        started = time.monotonic()
        # 409: already logged in (a daemon restarted on the same store).
        await asyncio.gather(*(self.call("POST", f"/agents/{n}/login", ok=(409,)) for n in numbers))
        pending = list(numbers)
        while pending:
            states = await asyncio.gather(*(self.call("GET", f"/agents/{n}/state") for n in pending))
            pending = [n for n, s in zip(pending, states) if s["status"] != "available" or (registered and not s["registered"])]
            if not pending:
                break
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{len(pending)} agents not ready after {timeout} s, e.g. {pending[:5]}")
            await asyncio.sleep(0.5)
        return time.monotonic() - started

    async def calls_since(self, since: dt.datetime) -> list[dict[str, Any]]:
        stamp = since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out: list[dict[str, Any]] = []
        for offset in range(0, 10_000_000, 500):  # bounded by the total below
            page = await self.call("GET", "/calls", since=stamp, limit=500, offset=offset)
            out += page["items"]
            if offset + 500 >= page["total"]:
                break
        return out

    async def details(self, ids: list[str]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.call("GET", f"/calls/{i}") for i in ids)))

    async def waiting(self) -> tuple[int, int]:
        """(callers waiting in the general queue, agents on a call) from the wallboard."""
        board = await self.call("GET", "/wallboard")
        waiting = sum(q["waiting"] for q in board["queues"] if q["name"] == QUEUE)
        return waiting, sum(1 for a in board["agents"] if a["status"] in ("ringing", "on_call"))


@dataclass
class Feeds:
    """Agents' live feeds (WebSockets), every message with the wall time it arrived."""

    pops: dict[tuple[str, str], list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    messages: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def open(self, api: Api, numbers: list[str], *, timeout: float = 20) -> None:
        ready = [asyncio.Event() for _ in numbers]
        self.tasks = [asyncio.ensure_future(self._read(api, n, ev)) for n, ev in zip(numbers, ready)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout)

    async def _read(self, api: Api, number: str, ready: asyncio.Event) -> None:
        async with api.http.ws_connect(f"{api.base}/agents/{number}/events") as ws:
            ready.set()
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                received = time.time()
                self.messages += 1
                item = json.loads(msg.data)
                if item.get("kind") == "screen_pop":
                    self.pops[(str(item.get("call_id")), str(item.get("agent")))].append(received)

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# -- reading the calls ---------------------------------------------------------------------------------

def _at(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _first(timeline: list[dict[str, Any]], type_: str) -> dict[str, Any] | None:
    return next((e for e in timeline if e["type"] == type_), None)


@dataclass
class FlowFigures:
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    waited: list[float] = field(default_factory=list)
    answer_to_bridge_ms: list[float] = field(default_factory=list)
    beyond_intro_ms: list[float] = field(default_factory=list)  # answer->bridge less the intro prompt's length
    intro_seconds: list[float] = field(default_factory=list)
    rings: list[int] = field(default_factory=list)
    ring_ends: collections.Counter[str] = field(default_factory=collections.Counter)
    pop_ms: list[float] = field(default_factory=list)
    rings_watched: int = 0
    pops_missing: int = 0
    queues: collections.Counter[str] = field(default_factory=collections.Counter)


def flow_figures(calls: list[dict[str, Any]], details: list[dict[str, Any]], feeds: Feeds, watched: set[str],
                 intro_len: dict[str, float]) -> FlowFigures:
    f = FlowFigures()
    for c in calls:
        f.outcomes[str(c.get("outcome") or c.get("status"))] += 1
        f.queues[str(c.get("queue"))] += 1
        if c.get("waited") is not None:
            f.waited.append(float(c["waited"]))
    pops = {k: sorted(v) for k, v in feeds.pops.items()}
    for d in details:
        tl = d["timeline"]
        ringing = [e for e in tl if e["type"] == "agent_ringing"]
        f.rings.append(len(ringing))
        for e in tl:
            if e["type"] == "agent_ring_ended":
                f.ring_ends[str(e["data"].get("reason"))] += 1
        for e in ringing:
            agent = str(e["data"].get("agent"))
            if agent not in watched:
                continue
            f.rings_watched += 1
            got = pops.get((d["id"], agent))
            if not got:
                f.pops_missing += 1
                continue
            f.pop_ms.append((got.pop(0) - _at(e["at"])) * 1000)
        answered, bridged = _first(tl, "agent_answered"), _first(tl, "bridged")
        if answered and bridged:
            ms = (_at(bridged["at"]) - _at(answered["at"])) * 1000
            f.answer_to_bridge_ms.append(ms)
            intro = intro_len.get(str(answered["data"].get("agent")))
            if intro is not None:
                f.intro_seconds.append(intro)
                f.beyond_intro_ms.append(ms - intro * 1000)
    return f


def stats(values: list[float], unit: str = "ms", digits: int = 0, *, high: float = 99) -> str:
    """p50, p``high`` and max of ``values``, and how many there are."""
    if not values:
        return "(no samples)"
    fmt = f"{{:.{digits}f}}"
    return (f"p50 {fmt.format(percentile(values, 50))} {unit}   p{high:g} {fmt.format(percentile(values, high))} {unit}"
            f"   max {fmt.format(percentile(values, 100))} {unit}   ({len(values)} samples)")


def daemon_log_summary(stack: Stack, *, since: float, top: int = 6) -> list[str]:
    """Warnings and errors the daemon logged since ``since`` (epoch seconds), most frequent first."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in stack.daemon_log().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        level = str(rec.get("level", "")).lower()
        if level not in ("warning", "error", "critical"):
            continue
        try:
            if _at(str(rec.get("ts"))) < since:
                continue
        except ValueError:
            pass
        # One line per kind of message: call ids, numbers and counts vary.
        msg = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|[0-9*]{3,}|\b\d+\b", "#", str(rec.get("msg", "")))
        counts[(level, msg[:120])] += 1
    return [f"    {n} x {level}: {msg}" for (level, msg), n in counts.most_common(top)]


def print_daemon_warnings(stack: Stack, *, since: float) -> None:
    """Prints ``daemon_log_summary`` under a heading, if the daemon logged any."""
    warnings = daemon_log_summary(stack, since=since)
    if warnings:
        print("  daemon warnings and errors during the run:")
        print("\n".join(warnings))


async def idle_rates(pids: tuple[int, ...], seconds: float = 5.0) -> list[float]:
    """Each process's CPU (fraction of one CPU) over ``seconds`` with no call: the floor to subtract."""
    before, t0 = [cpu_seconds(p) for p in pids], time.monotonic()
    await asyncio.sleep(seconds)
    after, t1 = [cpu_seconds(p) for p in pids], time.monotonic()
    return [(b - a) / (t1 - t0) for a, b in zip(before, after)]


# -- callers who hang up themselves (the hold test) ------------------------------------------------------

async def run_holders(target: tuple[str, int], steps: list[scenarios.Step], *, cps: float, calls: int, limit: int,
                      workdir: Path, timeout_s: float) -> bench_sipp.SippRun:
    """Like ``bench.sipp.run_uac``, for a script that ends with the caller's own BYE (``HangUp``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    try:
        xml = workdir / "uac.xml"
        xml.write_text(scenarios.scenario(steps, caller="1390000[call_number]", media_port=str(sink.getsockname()[1])),
                       encoding="utf-8")
        stats_file = workdir / "stats.csv"
        host, port = target
        proc = await asyncio.create_subprocess_exec(
            bench_sipp.SIPP, f"{host}:{port}", "-sf", str(xml), "-s", SERVICE, "-i", "127.0.0.1",
            "-p", str(scenarios.free_udp_pair()[0]), "-m", str(calls), "-r", str(cps), "-rp", "1000", "-l", str(limit),
            "-timeout", f"{int(timeout_s)}s", "-nostdin", "-trace_stat", "-stf", str(stats_file), "-fd", "1",
            "-trace_rtt", "-rtt_freq", "1", "-trace_err", "-error_file", str(workdir / "errors.log"),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=workdir,
        )
        started = time.monotonic()
        try:
            out, _ = await proc.communicate()
        except asyncio.CancelledError:
            proc.kill()
            await proc.wait()
            raise
        wall = time.monotonic() - started
    finally:
        sink.close()
    rows = bench_sipp._read_stats(stats_file) if stats_file.exists() else []
    last = rows[-1] if rows else {}
    return bench_sipp.SippRun(
        returncode=proc.returncode if proc.returncode is not None else -1,
        offered=int(last.get("OutgoingCall(C)", 0) or 0), completed=int(last.get("SuccessfulCall(C)", 0) or 0),
        failed=int(last.get("FailedCall(C)", 0) or 0), offer_seconds=calls / cps, wall_seconds=wall,
        peak_concurrent=max((int(r.get("CurrentCall", 0) or 0) for r in rows), default=0),
        rtd_ms=bench_sipp._read_rtd(workdir), output=out.decode("utf-8", "replace"),
    )


# -- the two tests -------------------------------------------------------------------------------------

def key_steps(args: argparse.Namespace) -> list[scenarios.Step]:
    if args.key == "none":
        return []
    return [scenarios.Pause(args.key_after_ms), scenarios.Keys(args.key, via=args.key_via)]


def header(args: argparse.Namespace, stack: Stack, run_dir: Path, route: list[str], queue: str, fds: int, *,
           title: str = "callcore queue bench") -> None:
    load = os.getloadavg()
    print(f"{title} {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} CPUs;"
          f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; open files {fds}; run folder {run_dir}", flush=True)
    key = "no key" if args.key == "none" else f"key {args.key} ({args.key_via}) {args.key_after_ms} ms after the ACK"
    print(f"  database {stack.settings.database_url}; callers: {key}: {' > '.join(route)} (queue {queue})", flush=True)


async def start_stack(stack: Stack) -> tuple[int, int]:
    await stack.start_asterisk()
    asterisk_pid = process.running_pid(stack.run_dir)
    assert asterisk_pid is not None
    await stack.start_daemon()
    assert stack.daemon is not None
    return stack.daemon.pid, asterisk_pid


@dataclass
class Agents:
    """The bench's agents: numbers, each one's agent-number prompt length, and the set-up times."""

    numbers: list[str]
    intro_len: dict[str, float]
    made_s: float
    warmed_s: float


async def make_agents(args: argparse.Namespace, stack: Stack, count: int) -> Agents:
    """``count`` agents (2001...) in the store, their number prompts synthesized, the queues file
    (every agent a member of ``general``) written; before Asterisk and the daemon start."""
    numbers = [str(FIRST_AGENT + i) for i in range(count)]
    sounds = stack.settings.sounds_dir
    intros = {n: agent_intro_text(n) for n in numbers}
    made, warmed = await asyncio.gather(
        create_agents(stack, numbers),
        warm_prompts([*intros.values(), f"{DISPLAY_NAME}来电。"], sounds),
    )
    intro_len = {n: prompt_seconds(prompt_path(t, sounds).with_suffix(".wav")) for n, t in intros.items()}
    Path(stack.env["CALLCORE_QUEUES_FILE"]).write_text(
        queues_file(numbers, args, announce_every=args.announce_every, max_wait=args.max_wait), encoding="utf-8")
    return Agents(numbers, intro_len, made, warmed)


async def start_pool(args: argparse.Namespace, stack: Stack, run_dir: Path, api: Api, numbers: list[str], *,
                     extra: list[str] | None = None) -> tuple[AgentPool, float, float]:
    """The agent pool registering every agent (``extra``: more SIPp options), then every agent
    logged in and seen registered; (the pool, seconds to register, seconds to be ready after).
    The pool is stopped if either step fails."""
    pool = AgentPool(stack.sip, {n: stack.agent_passwords[n] for n in numbers}, workdir=run_dir / "pool",
                     answer_after=args.answer_after, talk_seconds=args.talk, register_rate=args.register_rate,
                     extra=[*(["-trace_msg"] if args.pool_trace else []), *(extra or [])])
    try:
        t0 = time.monotonic()
        await pool.start(timeout=max(60.0, len(numbers) / args.register_rate * 3))
        registered_in = time.monotonic() - t0
        ready_in = await api.log_in(numbers, registered=True)
    except BaseException:
        await pool.stop()
        raise
    return pool, registered_in, ready_in


async def flow(args: argparse.Namespace, stack: Stack, run_dir: Path) -> int:
    agents = await make_agents(args, stack, args.agents)
    numbers, intro_len, made, warmed = agents.numbers, agents.intro_len, agents.made_s, agents.warmed_s
    busy_s = args.answer_after + args.talk + args.wrap_up
    print(f"  {args.agents} agents ({numbers[0]}..{numbers[-1]}) made in {made:.1f} s, their number prompts in {warmed:.1f} s"
          f" ({min(intro_len.values()):.2f}-{max(intro_len.values()):.2f} s long); each answers after {args.answer_after} s,"
          f" hangs up {args.talk} s later, wrap-up {args.wrap_up} s: {args.cps} CPS keeps ~{args.cps * busy_s:.0f} agents busy",
          flush=True)
    print(f"  queue {QUEUE}: {args.strategy}, ring timeout {args.ring_timeout} s, announce every {args.announce_every} s,"
          f" max wait {args.max_wait} s; {args.cps} CPS x {args.seconds} s = {int(args.cps * args.seconds)} calls", flush=True)
    daemon_pid, asterisk_pid = await start_stack(stack)
    api = Api(stack)
    pool: AgentPool | None = None
    feeds = Feeds()
    status = 1
    try:
        pool, registered_in, ready_in = await start_pool(args, stack, run_dir, api, numbers)
        step = max(1, len(numbers) // max(1, args.ws_agents)) if args.ws_agents else 0
        watched = numbers[::step][: args.ws_agents] if step else []
        await feeds.open(api, watched)
        print(f"  pool registered {len(pool.registered())} agents in {registered_in:.1f} s (one SIPp, port {pool.sip_port});"
              f" all logged in and seen registered {ready_in:.1f} s later; {len(watched)} agents' live feeds open", flush=True)
        await wait_quiet([daemon_pid, asterisk_pid])
        pool_pid = pool.proc.pid if pool.proc else 0
        pids = (daemon_pid, asterisk_pid, pool_pid)
        idle = await idle_rates(pids)
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        log_since = time.time()
        d0, a0, p0, m0 = cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid), cpu_seconds(pool_pid), machine_busy()
        measured_from = time.monotonic()
        spy = await start_py_spy(daemon_pid, run_dir / "py-spy-queues.txt") if args.py_spy else None
        peaks = {"waiting": 0, "busy": 0}

        async def watch() -> None:
            while True:
                await asyncio.sleep(2.0)
                try:
                    w, b = await api.waiting()
                except (AssertionError, aiohttp.ClientError, TimeoutError):
                    continue
                peaks["waiting"], peaks["busy"] = max(peaks["waiting"], w), max(peaks["busy"], b)

        watcher = asyncio.ensure_future(watch())
        try:
            run = await bench_sipp.run_uac(
                stack.sip, service=SERVICE, cps=args.cps, calls=int(args.cps * args.seconds), limit=args.limit,
                workdir=run_dir / "sipp" / "callers", call_timeout_s=args.call_timeout, steps=key_steps(args))
        finally:
            watcher.cancel()
        m1 = machine_busy()
        deadline = asyncio.get_running_loop().time() + 60
        while await active_channels(stack) > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        await wait_quiet([daemon_pid, asterisk_pid])
        await stop_py_spy(spy)
        d1, a1, p1 = cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid), cpu_seconds(pool_pid)
        measured = time.monotonic() - measured_from
        t_read = time.monotonic()
        calls = await api.calls_since(since)
        details = await api.details([c["id"] for c in calls])
        f = flow_figures(calls, details, feeds, set(watched), intro_len)
        read_s = time.monotonic() - t_read
        sustained = run.completed / run.offer_seconds if run.offer_seconds else 0.0
        per_call = 1000 / run.offered if run.offered else 0.0
        counts = pool.counts()
        print(f"[queue flow] service {SERVICE}: menu, queue {QUEUE}, agent number, {args.talk:g} s talk, the agent hangs up")
        print(f"  callers: offered {run.offered}   completed {run.completed}   failed {run.failed}")
        print(f"  sustained {sustained:.1f} CPS  (completed / {run.offer_seconds:.2f} s of call creation;"
              f" SIPp ran {run.wall_seconds:.1f} s, peak {run.peak_concurrent} calls up)")
        print(f"  INVITE->200 {stats(run.rtd_ms)}")
        print(f"  stored calls since the start: {len(calls)}; outcomes {dict(f.outcomes.most_common())}; queues {dict(f.queues)}")
        print(f"  queue wait (API 'waited') {stats(f.waited, 's', 2)}; wallboard peaks: {peaks['waiting']} waiting,"
              f" {peaks['busy']} agents ringing or on a call (2 s samples)")
        print(f"  agent answered -> bridged {stats(f.answer_to_bridge_ms)}")
        if f.intro_seconds:
            print(f"    the agent-number prompt in between lasts {min(f.intro_seconds):.2f}-{max(f.intro_seconds):.2f} s;"
                  f" beyond it {stats(f.beyond_intro_ms)}")
        print(f"  rings per call: mean {sum(f.rings) / max(1, len(f.rings)):.2f}, max {max(f.rings, default=0)};"
              f" ring endings {dict(f.ring_ends.most_common())}")
        print(f"  screen pop (agent_ringing -> WebSocket message received) {stats(f.pop_ms)};"
              f" {f.rings_watched} rings of the {len(watched)} watched agents, {f.pops_missing} without a pop;"
              f" {feeds.messages} feed messages in all")
        print(f"  agent pool: {dict(counts.most_common())}")
        used = [d1 - d0, a1 - a0, p1 - p0]
        net = [u - r * measured for u, r in zip(used, idle)]
        print(f"  CPU ms per offered call: daemon {used[0] * per_call:.1f}   asterisk {used[1] * per_call:.1f}"
              f"   agent pool {used[2] * per_call:.1f}   over {measured:.0f} s; less the idle rate"
              f" ({', '.join(f'{100 * r:.1f}%' for r in idle)} of a CPU): {net[0] * per_call:.1f} / {net[1] * per_call:.1f} /"
              f" {net[2] * per_call:.1f}")
        print(f"  machine {100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9):.0f}% busy while the callers ran"
              f" (every process on it); {read_s:.1f} s to read the calls back")
        print_daemon_warnings(stack, since=log_since)
        ok = run.failed == 0 and run.completed == run.offered and f.outcomes.get("answered", 0) == run.offered
        status = 0 if ok else 1
    finally:
        await feeds.close()
        await api.close()
        if pool is not None:
            await pool.stop()
    return status


async def hold(args: argparse.Namespace, stack: Stack, run_dir: Path) -> int:
    n = args.hold
    agent = str(FIRST_AGENT)
    sounds = stack.settings.sounds_dir
    texts = [] if args.cold_prompts else [announcement_text(p, None) for p in range(1, n + 1)]
    made, warmed = await asyncio.gather(create_agents(stack, [agent]), warm_prompts(texts, sounds))
    Path(stack.env["CALLCORE_QUEUES_FILE"]).write_text(
        queues_file([agent], args, announce_every=args.announce_every, max_wait=0), encoding="utf-8")
    ramp = n / args.hold_cps
    hold_s = ramp + args.hold_settle + args.hold_window + 5
    print(f"  hold: {n} callers at {args.hold_cps} CPS ({ramp:.0f} s), each waiting {hold_s:.0f} s after its key, then"
          f" hanging up; announce every {args.announce_every} s; agent {agent} logged in with no phone;"
          f" {'cold prompt cache' if args.cold_prompts else f'{len(texts)} position announcements synthesized ahead in {warmed:.1f} s'}",
          flush=True)
    daemon_pid, asterisk_pid = await start_stack(stack)
    api = Api(stack)
    status = 1
    try:
        await api.log_in([agent], registered=False)
        await wait_quiet([daemon_pid, asterisk_pid])
        idle_d, idle_a = await idle_rates((daemon_pid, asterisk_pid))
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        log_since = time.time()
        steps: list[scenarios.Step] = [*key_steps(args), scenarios.Pause(int(hold_s * 1000)), scenarios.HangUp()]
        callers = asyncio.ensure_future(run_holders(
            stack.sip, steps, cps=args.hold_cps, calls=n, limit=max(args.limit, n + 10), workdir=run_dir / "sipp" / "hold",
            timeout_s=hold_s + ramp + 120))
        started = time.monotonic()
        peak = 0
        while time.monotonic() - started < ramp + args.hold_settle and not callers.done():
            await asyncio.sleep(1.0)
            peak = max(peak, (await api.waiting())[0])
            if peak >= n:
                break
        w0, ch0 = (await api.waiting())[0], await active_channels(stack)
        c0 = (cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid), machine_busy(), time.monotonic())
        win0 = time.time()
        spy = await start_py_spy(daemon_pid, run_dir / "py-spy-hold.txt") if args.py_spy else None
        await asyncio.sleep(args.hold_window)
        await stop_py_spy(spy)
        c1 = (cpu_seconds(daemon_pid), cpu_seconds(asterisk_pid), machine_busy(), time.monotonic())
        win1 = time.time()
        w1, ch1 = (await api.waiting())[0], await active_channels(stack)
        run = await callers
        deadline = asyncio.get_running_loop().time() + 60
        while await active_channels(stack) > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        calls = await api.calls_since(since)
        details = await api.details([c["id"] for c in calls])
        outcomes = collections.Counter(str(c.get("outcome") or c.get("status")) for c in calls)
        in_window = [[e for e in d["timeline"] if e["type"] == "announcement" and e["data"].get("kind") == "position"
                      and win0 <= _at(e["at"]) <= win1] for d in details]
        heard = sum(1 for a in in_window if a)
        total = sum(len(a) for a in in_window)
        window = c1[3] - c0[3]
        # Each waiting caller is one Asterisk channel (nobody is rung): the callers really there. The
        # wallboard also counts line entries whose call flow failed without leaving the line.
        waiting = (ch0 + ch1) / 2
        dd, da = (c1[0] - c0[0]) / window, (c1[1] - c0[1]) / window
        busy = 100 * (c1[2][0] - c0[2][0]) / max(c1[2][1] - c0[2][1], 1e-9)
        print(f"[queue hold] {n} callers offered at {args.hold_cps} CPS")
        print(f"  callers: offered {run.offered}   completed {run.completed}   failed {run.failed}   (peak {run.peak_concurrent} up)")
        print(f"  waiting at once: Asterisk channels {ch0} at the window's start, {ch1} at its end; wallboard {w0} / {w1}"
              f" (peak {max(peak, w0)} before the window){'; the wallboard counts callers who are gone' if w1 > ch1 else ''}")
        print(f"  over {window:.1f} s: daemon {100 * dd:.1f}% of a CPU, asterisk {100 * da:.1f}%  (idle before: {100 * idle_d:.1f}% /"
              f" {100 * idle_a:.1f}%); machine {busy:.0f}% busy")
        if waiting:
            print(f"  CPU per waiting caller: daemon {1000 * (dd - idle_d) / waiting:.3f} ms/s   asterisk"
                  f" {1000 * (da - idle_a) / waiting:.3f} ms/s   (net of idle, over {waiting:.0f} callers;"
                  f" {waiting / max(1e-9, (dd + da - idle_d - idle_a)):.0f} callers per CPU at this rate)")
        print(f"  announcements during the window: {total} to {heard} of {len(details)} callers"
              f" ({total / window:.1f} per s; every {args.announce_every:g} s each would be {waiting / args.announce_every:.1f} per s)")
        print(f"  outcomes: {dict(outcomes.most_common())}")
        print_daemon_warnings(stack, since=log_since)
        status = 0 if run.failed == 0 and min(ch0, ch1) >= n else 1
    finally:
        await api.close()
    return status


BenchTest = Callable[[argparse.Namespace, Stack, Path], Awaitable[int]]


async def run_bench(args: argparse.Namespace, test: BenchTest, *, prefix: str, max_call_seconds: float,
                    title: str = "callcore queue bench", **env: str) -> int:
    """Runs ``test`` against its own Asterisk and daemon (the IVR flow, the always-open shipped menu,
    the bench's queues file, ``env`` on top) in a fresh run folder, stops both, and removes the
    folder unless ``--keep``/``--py-spy``; the test's exit status."""
    fds = raise_fd_limit()
    run_dir = bench_run_dir(args, prefix=prefix)
    stack = bench_stack(args, run_dir, CALLCORE_FLOW="ivr", CALLCORE_IVR_DIR=str(run_dir / "ivr"),
                        CALLCORE_QUEUES_FILE=str(run_dir / "queues.yaml"),
                        CALLCORE_ASTERISK_MAX_CALL_SECONDS=str(int(max_call_seconds)), **env)
    text = always_open(SHIPPED.read_text(encoding="utf-8"))
    route, queue = menu_route(text, None if args.key == "none" else args.key)
    if queue != QUEUE:
        raise SystemExit(f"key {args.key} reaches queue {queue!r}, the bench fills {QUEUE!r}")
    await prepare_menu(stack, None)  # the always-open shipped menu in the run folder, its prompts synthesized
    header(args, stack, run_dir, route, queue, fds, title=title)
    try:
        status = await test(args, stack, run_dir)
    finally:
        await stack.stop_daemon()
        await stack.stop_asterisk()
    if args.keep or args.py_spy:
        print(f"kept {run_dir} (logs in log/, SIPp files in sipp/ and pool/)")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return status


async def main(args: argparse.Namespace) -> int:
    max_call = (args.hold / args.hold_cps + args.hold_settle + args.hold_window + 120) if args.hold else args.call_timeout + 60
    return await run_bench(args, hold if args.hold else flow, prefix="callcore-queue-bench-", max_call_seconds=max_call)


def agent_arguments(p: argparse.ArgumentParser, *, talk: float | None, talk_help: str) -> None:
    """The options of the agents, the queue and the callers' key, shared with ``bench/recorded_calls.py``."""
    p.add_argument("--talk", type=float, default=talk, help=talk_help)
    p.add_argument("--answer-after", type=float, default=0.5, help="seconds an agent's phone rings before answering")
    p.add_argument("--wrap-up", type=float, default=1.0, help="the queue's wrap-up seconds (default 1)")
    p.add_argument("--ring-timeout", type=float, default=15.0, help="the queue's ring timeout (default 15)")
    p.add_argument("--strategy", default="rrmemory", help="the queue's ring strategy (default rrmemory)")
    p.add_argument("--announce-every", type=float, default=15.0, help="seconds between position announcements (default 15)")
    p.add_argument("--max-wait", type=float, default=300.0, help="the queue's max wait in the flow test (default 300)")
    p.add_argument("--key", default="1", help="the key callers press in the welcome menu, or 'none' (default 1)")
    p.add_argument("--key-via", choices=("info", "rfc2833"), default="info", help="SIP INFO (default) or RFC 2833 pcaps")
    p.add_argument("--key-after-ms", type=int, default=2500, help="pause between the ACK and the key (default 2500)")
    p.add_argument("--register-rate", type=float, default=100.0, help="REGISTERs per second of the pool (default 100)")
    p.add_argument("--pool-trace", action="store_true", help="the agent pool logs every SIP message (pool/; with --keep)")


def check_key(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.key != "none" and (len(args.key) != 1 or args.key not in "0123456789*#"):
        p.error("--key is one key or 'none'")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p, cps=5, call_timeout=90, spy_file="py-spy-queues.txt / py-spy-hold.txt")
    p.add_argument("--agents", type=int, default=60, help="agents registered by the pool (2001...; default 60)")
    agent_arguments(p, talk=10.0, talk_help="seconds an agent talks before hanging up (default 10)")
    p.add_argument("--ws-agents", type=int, default=20, help="agents whose live feed is opened for the screen pop (default 20)")
    p.add_argument("--hold", type=int, default=0, help="run the hold test with this many waiting callers instead")
    p.add_argument("--hold-cps", type=float, default=50.0, help="arrival rate of the hold test's callers (default 50)")
    p.add_argument("--hold-settle", type=float, default=15.0, help="seconds after the ramp to let every caller enter")
    p.add_argument("--hold-window", type=float, default=30.0, help="seconds over which CPU is read while all wait")
    p.add_argument("--cold-prompts", action="store_true", help="hold: do not synthesize the position announcements ahead")
    args = p.parse_args(argv)
    check_key(p, args)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
