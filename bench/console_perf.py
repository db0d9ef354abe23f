"""Console performance bench (issue 11), measured in a real browser: the screen pop painted after the
daemon rings the agent, the console's first load on loopback, and its initial JavaScript.

Starts its own Asterisk and daemon as ``bench/queues.py`` does (``run_bench``: the IVR flow, the
shipped menu open at every hour, a queues file written here, a fresh run folder on free loopback
ports), serving the console built by ``console/build.sh``, and drives Debian's Chromium (headless)
with Playwright. Figures are printed, never asserted on time.

**Initial JavaScript.** What ``console/dist/index.html`` makes the browser fetch before anything
shows (the entry script and its module preloads), each file gzipped at level 9 as the build's own
count does; the style sheets beside it.

**First load** (``--loads``, default 20). Each load is a fresh browser context (empty cache, no
session): ``page.goto`` of the login page; then the page's navigation timing (``responseEnd``,
``domContentLoadedEventEnd``, ``loadEventEnd``), its first contentful paint, and the moment the
login form is painted (an in-page MutationObserver sees ``input[name=username]``, then two
animation frames; and Chromium's Element Timing of the login heading), all from the navigation's
start.

**Screen pop** (``--rings``, default 100). Agent 2001 (its queue ``general``, wrap-up ``--wrap-up``)
has a SIPp phone (``harness.phones.AgentPhone``: answers after ``--answer-after`` s, hangs up
``--talk`` s later) and a user logged in to the desk, ready (F2). One SIPp caller after another
keys into the general queue; the next caller dials as soon as the previous pop is painted (the
agent is then on that call), so the menu of one overlaps the talk of the other. For each ring:

- the daemon rings the agent: the ``agent_ringing`` event's timestamp in the call's timeline (the
  daemon's clock, taken in the same step that publishes the pop and asks Asterisk to dial);
- the pop frame reaches the page: an in-page listener on the page's WebSocket (``Date.now()``);
- the pop is in the DOM: a MutationObserver sees ``[data-test=screen-pop]`` appear (the bench
  clears the pop with the ticket form's 取消 once painted, so every pop is a new element);
- the pop is painted: two ``requestAnimationFrame`` after that (``Date.now()``; also
  ``performance.timeOrigin + performance.now()``, their difference printed); and, as a check,
  Chromium's own paint time of the pop's number (Element Timing ``renderTime``: the probe sets
  ``elementtiming`` on ``[data-test=pop-number]`` before its first paint);
- the agent's phone rings: the INVITE in the phone's SIPp message log.

Daemon, browser and SIPp run on one machine and read one wall clock (the timeline's stamps are
to the millisecond). Printed: ring -> painted p50/p95/p99/max, the steps in between, rings with
no pop, and the machine's facts. Exit 1 when a ring had no pop or a caller failed, never on time.

    .venv/bin/python bench/console_perf.py --rings 5 --loads 3     # smoke, ~3 min
    .venv/bin/python bench/console_perf.py                         # the goal: 100 rings, 20 cold loads
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.async_api import Browser, Page, expect  # noqa: E402

from bench.ivr_load import percentile  # noqa: E402
from bench.load import active_channels, machine_busy  # noqa: E402
from bench.queues import Api, make_agents, print_daemon_warnings, run_bench, start_stack  # noqa: E402
from harness import sipp as scenarios  # noqa: E402
from harness.browser import (Asset, ConsoleUser, add_user, build_console, chromium, console_url,  # noqa: E402
                             initial_assets, log_in, new_page)
from harness.phones import AgentCall, AgentPhone, Answer, wait_contact  # noqa: E402
from harness.stack import Stack  # noqa: E402

POP_GOAL_MS = 300.0
LOAD_GOAL_MS = 1000.0
INITIAL_JS_GOAL_KB = 600.0  # kB of 1024 bytes, as the build prints them

# Runs in every document before the console's own scripts (Playwright's init script: not subject to
# the page's Content-Security-Policy). It never changes what the console does: it timestamps the
# screen-pop frames the page's WebSockets receive, and when the pop (or the login form) enters the
# DOM it waits two animation frames (the first runs before the next paint, the second after it) and
# records that moment; ``callcorePopPainted`` (a Playwright binding) hands each pop to the bench.
PROBE = r"""
(() => {
  if (window.__callcorePerf) return;
  const perf = { frames: [], marks: [], elements: [], login: null, origin: performance.timeOrigin };
  window.__callcorePerf = perf;
  const hr = () => performance.timeOrigin + performance.now();
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (ev) => {
        if (typeof ev.data === 'string' && ev.data.includes('"screen_pop"')) {
          perf.frames.push({ wall: Date.now(), hr: hr(), data: ev.data });
        }
      });
    }
  };
  const afterPaint = (done) => requestAnimationFrame(() => requestAnimationFrame(done));
  // Chromium's own paint time of the pop's number (Element Timing: the attribute is set in the
  // observer's callback, before the element's first paint), a check on the two-frame estimate.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) perf.elements.push({ id: e.identifier, render: e.renderTime });
    }).observe({ type: 'element', buffered: true });
  } catch (e) { /* no Element Timing: the two-frame estimate only */ }
  let seq = 0;
  let shown = null;
  let shownText = null;
  const look = () => {
    if (!perf.login && document.querySelector('input[name=username]')) {
      const login = { dom: performance.now(), painted: null };
      perf.login = login;
      document.querySelector('h2')?.setAttribute('elementtiming', 'callcore-login');
      afterPaint(() => { login.painted = performance.now(); });
    }
    const el = document.querySelector('[data-test=screen-pop]');
    if (!el) { shown = null; shownText = null; return; }
    const numberEl = el.querySelector('[data-test=pop-number]');
    const text = (numberEl?.textContent ?? '').trim();
    if (el === shown && text === shownText) return;
    shown = el;
    shownText = text;
    seq += 1;
    const mark = { number: text, frame: perf.frames.length - 1, seq, dom_wall: Date.now(), dom_hr: hr() };
    if (numberEl) numberEl.setAttribute('elementtiming', `callcore-pop-${seq}`);
    afterPaint(() => {
      mark.painted_wall = Date.now();
      mark.painted_hr = hr();
      perf.marks.push(mark);
      if (window.callcorePopPainted) window.callcorePopPainted(mark).catch(() => {});
    });
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, characterData: true });
})();
"""

LOAD_DONE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const perf = window.__callcorePerf;
  return !!(nav && nav.loadEventEnd > 0 && performance.getEntriesByName('first-contentful-paint').length
            && perf && perf.login && perf.login.painted
            && (perf.elements.some((e) => e.id === 'callcore-login') || !document.querySelector('h2')));
}"""

LOAD_TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const heading = window.__callcorePerf.elements.find((e) => e.id === 'callcore-login');
  const res = performance.getEntriesByType('resource');
  const js = res.filter((r) => r.name.endsWith('.js'));
  return {
    response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
    fcp: fcp ? fcp.startTime : null, login_dom: window.__callcorePerf.login.dom,
    login_painted: window.__callcorePerf.login.painted, login_rendered: heading ? heading.render : null,
    requests: res.length + 1, bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
    js_files: js.length, js_bytes: js.reduce((n, r) => n + r.transferSize, 0),
  };
}"""


# -- figures ---------------------------------------------------------------------------------------

def epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def spread(values: list[float], unit: str = "ms", *, digits: int = 0, highs: tuple[float, ...] = (95, 99)) -> str:
    """p50, the ``highs`` percentiles (nearest rank) and max of ``values``, and how many."""
    if not values:
        return "(no samples)"
    f = f"{{:.{digits}f}}"
    parts = [f"p{p:g} {f.format(percentile(values, p))}" for p in (50, *highs)] + [f"max {f.format(max(values))}"]
    return f"{'  '.join(parts)} {unit}  (n={len(values)})"


def verdict(value: float, goal: float) -> str:
    return "met" if not math.isnan(value) and value <= goal else "NOT met"


@dataclass
class RingRow:
    """One ring of the agent: the daemon's stamps, the page's, the phone's (epoch seconds)."""

    call_id: str
    ring_at: float  # the agent_ringing event
    pop_at: float | None = None  # the pop's own ``at`` (published in the same step)
    frame_at: float | None = None  # the frame reached the page
    dom_at: float | None = None  # the pop entered the DOM
    painted_at: float | None = None  # two animation frames later
    painted_hr: float | None = None  # the same, timeOrigin + now
    rendered_at: float | None = None  # Chromium's Element Timing renderTime of the pop's number
    invite_at: float | None = None  # the agent's phone got the INVITE


@dataclass
class PopRun:
    rows: list[RingRow] = field(default_factory=list)
    calls: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    caller_failures: int = 0
    frames: int = 0
    stray_marks: int = 0  # pops painted that match no ring of the run
    seconds: float = 0.0
    busy_pct: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    page_errors: list[str] = field(default_factory=list)


def match_rings(details: list[dict[str, Any]], agent: str, perf: dict[str, Any],
                phone_calls: list[AgentCall]) -> tuple[list[RingRow], int]:
    """Every ``agent_ringing`` of ``agent`` in the calls, joined to the frame that carried its pop (same
    call, nearest ``at``), the painted mark of that frame (``perf``: what the page's probe recorded),
    and the phone's INVITE of that caller. Returns the rows and how many painted marks matched no ring."""
    frames: list[dict[str, Any]] = perf["frames"]
    marks: list[dict[str, Any]] = perf["marks"]
    rendered = {str(e["id"]): (float(perf["origin"]) + float(e["render"])) / 1000
                for e in perf["elements"] if e.get("render")}
    parsed = []
    for f in frames:
        msg = json.loads(f["data"])
        number = str((msg.get("card") or {}).get("caller_number") or "")
        parsed.append((str(msg.get("call_id")), epoch(str(msg["at"])), float(f["wall"]) / 1000, number))
    by_frame = {int(m["frame"]): m for m in marks}
    used_frames: set[int] = set()
    invites: dict[str, list[AgentCall]] = collections.defaultdict(list)
    for c in phone_calls:
        invites[c.caller].append(c)
    rows: list[RingRow] = []
    for d in details:
        for e in d["timeline"]:
            if e["type"] != "agent_ringing" or str(e["data"].get("agent")) != agent:
                continue
            row = RingRow(call_id=str(d["id"]), ring_at=epoch(str(e["at"])))
            near = [(abs(at - row.ring_at), i) for i, (cid, at, _, _) in enumerate(parsed)
                    if cid == row.call_id and i not in used_frames and abs(at - row.ring_at) < 5]
            if near:
                i = min(near)[1]
                used_frames.add(i)
                _, row.pop_at, row.frame_at, number = parsed[i]
                mark = by_frame.get(i)
                if mark is not None and mark["number"] == number:
                    row.dom_at = float(mark["dom_wall"]) / 1000
                    row.painted_at = float(mark["painted_wall"]) / 1000
                    row.painted_hr = float(mark["painted_hr"]) / 1000
                    row.rendered_at = rendered.get(f"callcore-pop-{mark['seq']}")
                later = [c.arrived_at for c in invites.get(number, []) if c.arrived_at >= row.ring_at - 1]
                row.invite_at = min(later) if later else None
            rows.append(row)
    matched = sum(1 for r in rows if r.painted_at is not None)
    return sorted(rows, key=lambda r: r.ring_at), len(marks) - matched


# -- first load ------------------------------------------------------------------------------------

async def first_loads(browser: Browser, stack: Stack, n: int) -> tuple[list[dict[str, float]], float, tuple[float, float, float]]:
    """``n`` cold loads of the login page, one fresh context each; their timings (ms from the
    navigation's start), the machine's busy share meanwhile, and the load average before."""
    out: list[dict[str, float]] = []
    load = os.getloadavg()
    m0 = machine_busy()
    for _ in range(n):
        page = await new_page(browser, init_script=PROBE)
        try:
            await page.goto(console_url(stack), wait_until="load")
            await page.wait_for_function(LOAD_DONE, polling=50, timeout=30_000)
            out.append(dict(await page.evaluate(LOAD_TIMING)))
        finally:
            await page.context.close()
    m1 = machine_busy()
    return out, 100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9), load


def print_loads(loads: list[dict[str, float]], busy: float, load: tuple[float, float, float]) -> float:
    """Prints the first-load figures; returns the p99 of the later of the load event and the login
    form painted (what the goal is read on)."""
    print(f"[first load] {len(loads)} cold loads of /console/ (fresh context each: empty cache, no session);"
          f" load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; machine {busy:.0f}% busy meanwhile")
    names = [("response_end", "responseEnd"), ("dom_content_loaded", "DOMContentLoaded end"), ("load", "load event end"),
             ("fcp", "first contentful paint"), ("login_painted", "login form painted"),
             ("login_rendered", "login heading rendered")]
    for key, label in names:
        values = [float(x[key]) for x in loads if x.get(key) is not None]
        print(f"  {label:<24} {spread(values, highs=(99,))}")
    ready = [max(float(x["load"]), float(x["login_painted"]), float(x.get("login_rendered") or 0)) for x in loads]
    p99 = percentile(ready, 99)
    if loads:
        first = loads[0]
        print(f"  the first load: load {first['load']:.0f} ms, login form painted {first['login_painted']:.0f} ms,"
              f" first contentful paint {first['fcp']:.0f} ms")
        print(f"  per load: {int(percentile([x['requests'] for x in loads], 50))} requests,"
              f" {percentile([x['bytes'] for x in loads], 50) / 1024:.0f} kB transferred"
              f" ({int(percentile([x['js_files'] for x in loads], 50))} JS files,"
              f" {percentile([x['js_bytes'] for x in loads], 50) / 1024:.0f} kB: served uncompressed)")
    print(f"  goal: first load under {LOAD_GOAL_MS:.0f} ms (the latest of the load event and the login form painted"
          f" or rendered, p99 {p99:.0f} ms):"
          f" {verdict(p99, LOAD_GOAL_MS)}")
    return p99


# -- screen pop ------------------------------------------------------------------------------------

def caller_steps(args: argparse.Namespace) -> list[scenarios.Step]:
    """Key into the general queue, then wait for the hotline's BYE (the agent hangs up)."""
    return [scenarios.Pause(args.key_after_ms), scenarios.Keys(args.key, via=args.key_via),
            scenarios.ExpectHangup(timeout_ms=int(args.call_timeout * 1000))]


async def wait_state(api: Api, agent: str, *, timeout: float = 30) -> None:
    """Until the daemon has the agent available with the phone registered."""
    deadline = time.monotonic() + timeout
    while True:
        s = await api.call("GET", f"/agents/{agent}/state")
        if s["status"] == "available" and s["registered"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"agent {agent} not ready in {timeout} s: {s}")
        await asyncio.sleep(0.3)


async def wait_painted(painted: dict[str, dict[str, Any]], arrived: asyncio.Event, number: str,
                       caller: asyncio.Future[scenarios.SippResult], timeout: float) -> dict[str, Any] | None:
    """The painted mark of ``number``'s pop, or None after ``timeout`` s (or soon after the caller's
    call ended without one)."""
    deadline = time.monotonic() + timeout
    ended_at: float | None = None
    while number not in painted:
        now = time.monotonic()
        if caller.done() and ended_at is None:
            ended_at = now
        if now > deadline or (ended_at is not None and now - ended_at > 3):
            return None
        arrived.clear()
        try:
            await asyncio.wait_for(arrived.wait(), 0.5)
        except TimeoutError:
            pass
    return painted[number]


async def clear_pop(page: Page) -> None:
    """The agent closes the pop (the ticket form's 取消): the next ring's pop is a new element."""
    area = page.locator("[data-test=pop-area]")
    await area.get_by_role("button", name="取消", exact=True).click()
    await expect(page.locator("[data-test=screen-pop]")).to_have_count(0)


async def screen_pops(args: argparse.Namespace, stack: Stack, run_dir: Path, browser: Browser, agent: str) -> PopRun:
    run = PopRun()
    user: ConsoleUser = await add_user(stack, "agent", name=f"坐席{agent}", agent=agent)
    page = await new_page(browser, init_script=PROBE)
    page.on("pageerror", lambda e: run.page_errors.append(f"uncaught: {e}"))
    page.on("console", lambda m: run.page_errors.append(f"console: {m.text}") if m.type == "error" else None)
    painted: dict[str, dict[str, Any]] = {}
    arrived = asyncio.Event()

    def on_painted(mark: dict[str, Any]) -> None:
        painted[str(mark["number"])] = mark
        arrived.set()

    await page.expose_function("callcorePopPainted", on_painted)
    api = Api(stack)
    phone = AgentPhone(stack.sip, agent, stack.agent_passwords[agent], workdir=run_dir / "phone",
                       behaviour=Answer(after_seconds=args.answer_after, talk_seconds=args.talk))
    try:
        async with phone:
            await wait_contact(stack.cli, agent)
            await log_in(page, stack, user.username, "agent", password=user.password)
            await expect(page.locator("[data-test=agent-status]")).to_have_text("未签入")
            await page.keyboard.press("F2")  # 签入: the agent is ready
            await expect(page.locator("[data-test=agent-status]")).to_have_text("就绪")
            await wait_state(api, agent)
            since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            run.load_before, m0, t0 = os.getloadavg(), machine_busy(), time.monotonic()
            print(f"[screen pop] agent {agent} ready on the desk, phone registered; {args.rings} rings;"
                  f" load average {run.load_before[0]:.2f} {run.load_before[1]:.2f} {run.load_before[2]:.2f}", flush=True)
            previous: asyncio.Future[scenarios.SippResult] | None = None
            steps = caller_steps(args)
            for i in range(args.rings):
                number = f"{args.caller_prefix}{i:0{11 - len(args.caller_prefix)}d}"
                caller = asyncio.ensure_future(scenarios.call(
                    stack.sip, steps, workdir=run_dir / "callers", caller=number, caller_name=f"市民{i + 1}",
                    timeout_s=args.call_timeout + 30))
                mark = await wait_painted(painted, arrived, number, caller, args.pop_timeout)
                if mark is not None:
                    await clear_pop(page)
                else:
                    await caller  # no pop: let this call end before the next one
                if previous is not None and not (await previous).ok:
                    run.caller_failures += 1
                previous = caller
                if (i + 1) % 10 == 0:
                    print(f"  {i + 1} rings, {len(painted)} pops painted ({time.monotonic() - t0:.0f} s)", flush=True)
            if previous is not None and not (await previous).ok:
                run.caller_failures += 1
            run.seconds = time.monotonic() - t0
            m1 = machine_busy()
            run.busy_pct = 100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9)
            run.load_after = os.getloadavg()
            try:
                await phone.wait_calls(args.rings, timeout=30)
            except AssertionError:
                pass  # a ring that never reached the phone shows in the figures
            phone_calls = phone.calls()
        perf = await page.evaluate("window.__callcorePerf")
        deadline = time.monotonic() + 60
        while await active_channels(stack) > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        calls = await api.calls_since(since)
        while any(c.get("status") != "ended" for c in calls) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            calls = await api.calls_since(since)
        details = await api.details([c["id"] for c in calls])
        run.calls = len(calls)
        run.outcomes.update(str(c.get("outcome") or c.get("status")) for c in calls)
        run.frames = len(perf["frames"])
        run.rows, run.stray_marks = match_rings(details, agent, perf, phone_calls)
    finally:
        await api.close()
        await page.context.close()
    return run


def print_pops(args: argparse.Namespace, run: PopRun) -> float:
    """Prints the screen-pop figures; returns the p99 of ring -> painted."""
    rows = run.rows
    done = [r for r in rows if r.painted_at is not None]
    ms = [(r.painted_at - r.ring_at) * 1000 for r in done if r.painted_at is not None]

    def step(a: str, b: str) -> list[float]:
        out = []
        for r in rows:
            x, y = getattr(r, a), getattr(r, b)
            if x is not None and y is not None:
                out.append((y - x) * 1000)
        return out

    no_frame = sum(1 for r in rows if r.frame_at is None)
    print(f"[screen pop] {len(rows)} rings of the agent in {run.calls} calls ({run.seconds:.0f} s;"
          f" outcomes {dict(run.outcomes.most_common())}; callers failed {run.caller_failures});"
          f" machine {run.busy_pct:.0f}% busy, load average after {run.load_after[0]:.2f} {run.load_after[1]:.2f}"
          f" {run.load_after[2]:.2f}")
    print(f"  queue: wrap-up {args.wrap_up:g} s, ring timeout {args.ring_timeout:g} s; the phone answers after"
          f" {args.answer_after:g} s and hangs up {args.talk:g} s later")
    print(f"  ring -> pop painted        {spread(ms)}")
    print(f"    ring -> frame in page    {spread(step('ring_at', 'frame_at'))}")
    print(f"    frame -> pop in DOM      {spread(step('frame_at', 'dom_at'))}")
    print(f"    DOM -> painted (2 rAF)   {spread(step('dom_at', 'painted_at'))}")
    print(f"  ring -> pop rendered       {spread(step('ring_at', 'rendered_at'))}  (Chromium's Element Timing)")
    print(f"  ring -> phone's INVITE     {spread(step('ring_at', 'invite_at'))}")
    print(f"  phone's INVITE -> painted  {spread(step('invite_at', 'painted_at'))}  (negative: the pop shows first)")
    over = sum(1 for v in ms if v > POP_GOAL_MS)
    print(f"  rings with no pop painted: {len(rows) - len(done)} ({no_frame} with no frame in the page);"
          f" over {POP_GOAL_MS:.0f} ms: {over}; pops painted for no ring: {run.stray_marks};"
          f" screen-pop frames received {run.frames}")
    skew = step("pop_at", "ring_at")
    clocks = [abs(r.painted_hr - r.painted_at) * 1000 for r in done if r.painted_hr is not None and r.painted_at is not None]
    if skew and clocks:
        print(f"  clocks: the pop's own 'at' vs agent_ringing within {max(abs(v) for v in skew):.2f} ms;"
              f" Date.now() vs timeOrigin+now within {max(clocks):.1f} ms")
    if run.page_errors:
        print(f"  the page reported {len(run.page_errors)} errors, e.g. {run.page_errors[0][:200]}")
    # A ring with no pop counts as over the goal.
    p99 = percentile(ms, 99) if len(done) == len(rows) else math.inf
    rendered = step("ring_at", "rendered_at")
    p99_rendered = percentile(rendered, 99) if len(rendered) == len(rows) else math.inf
    timing = f"{p99_rendered:.0f} ms {verdict(p99_rendered, POP_GOAL_MS)}" if rendered else "n/a"
    print(f"  goal: pop painted within {POP_GOAL_MS:.0f} ms of the ring, p99 over {len(rows)} rings: two frames"
          f" {p99:.0f} ms {verdict(p99, POP_GOAL_MS)}; Element Timing {timing}")
    return max(p99, p99_rendered)


# -- the run ---------------------------------------------------------------------------------------

def tool_version(*cmd: str) -> str:
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "missing"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def print_initial_js(assets: list[Asset], build_output: str) -> float:
    js = [a for a in assets if a.kind == "js"]
    css = [a for a in assets if a.kind == "css"]
    gz = sum(a.gzipped for a in js) / 1024
    print(f"[initial JS] dist/index.html: {len(js)} scripts {sum(a.raw for a in js) / 1024:.1f} kB, gzip {gz:.1f} kB"
          f" ({', '.join(f'{Path(a.path).name} {a.gzipped / 1024:.1f}' for a in js)});"
          f" style sheets {len(css)}, gzip {sum(a.gzipped for a in css) / 1024:.1f} kB")
    line = next((x for x in build_output.splitlines() if x.startswith("initial JS")), None)
    print(f"  the build printed: {line}" if line else "  the build did not run (dist/ newer than its sources): computed here")
    print(f"  goal: initial JS under {INITIAL_JS_GOAL_KB:.0f} kB gzipped (kB of 1024 bytes): {verdict(gz, INITIAL_JS_GOAL_KB)}")
    return gz


async def console_bench(args: argparse.Namespace, stack: Stack, run_dir: Path, *, assets: list[Asset],
                        build_output: str) -> int:
    agents = await make_agents(args, stack, 1)  # 2001, a member of general; the queues file
    agent = agents.numbers[0]
    daemon_pid, _ = await start_stack(stack)
    log_since = time.time()
    asterisk = (await stack.cli("core show version")).strip().splitlines()[0].split(" built by ")[0]
    status = 0
    async with chromium() as browser:
        print(f"  machine: {platform.node()}, {os.cpu_count()} CPUs ({platform.machine()}), Linux {platform.release()};"
              f" {asterisk}; Chromium {browser.version} (headless, Playwright"
              f" {importlib.metadata.version('playwright')}); Python {platform.python_version()};"
              f" node {tool_version('node', '--version')}; {tool_version('sipp', '-v')}", flush=True)
        print_initial_js(assets, build_output)
        if args.loads:
            loads, busy, load = await first_loads(browser, stack, args.loads)
            print_loads(loads, busy, load)
        if args.rings:
            run = await screen_pops(args, stack, run_dir, browser, agent)
            print_pops(args, run)
            missing = sum(1 for r in run.rows if r.painted_at is None)
            if missing or run.caller_failures or len(run.rows) < args.rings:
                status = 1
    print_daemon_warnings(stack, since=log_since)
    print(f"  daemon pid {daemon_pid}; load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return status


async def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    dist, output = build_console()
    assets = initial_assets(dist)
    print(f"console built in {time.monotonic() - started:.0f} s ({dist})", flush=True)

    async def test(a: argparse.Namespace, stack: Stack, run_dir: Path) -> int:
        return await console_bench(a, stack, run_dir, assets=assets, build_output=output)

    return await run_bench(args, test, prefix="callcore-console-bench-", max_call_seconds=args.call_timeout + 60,
                           title="callcore console bench", CALLCORE_CONSOLE_DIR=str(dist))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rings", type=int, default=100, help="rings of the agent, one caller each (default 100; 0: none)")
    p.add_argument("--loads", type=int, default=20, help="cold loads of the login page (default 20; 0: none)")
    p.add_argument("--answer-after", type=float, default=0.5, help="seconds the agent's phone rings before answering")
    p.add_argument("--talk", type=float, default=4.0, help="seconds after answering that the agent hangs up (default 4)")
    p.add_argument("--wrap-up", type=float, default=1.0, help="the queue's wrap-up seconds (default 1)")
    p.add_argument("--ring-timeout", type=float, default=15.0, help="the queue's ring timeout (default 15)")
    p.add_argument("--key-via", choices=("info", "rfc2833"), default="info", help="SIP INFO (default) or RFC 2833 pcaps")
    p.add_argument("--key-after-ms", type=int, default=2500, help="pause between the ACK and the key 1 (default 2500)")
    p.add_argument("--caller-prefix", default="1394", help="callers' numbers: this prefix, then the ring's index (default 1394)")
    p.add_argument("--pop-timeout", type=float, default=60.0, help="seconds to wait for a caller's pop (default 60)")
    p.add_argument("--call-timeout", type=float, default=90.0, help="seconds a caller waits for the hotline's BYE")
    p.add_argument("--database-url", help="the daemon's database (default SQLite in the run folder)")
    p.add_argument("--rtp-start", type=int, default=10000)
    p.add_argument("--rtp-end", type=int, default=29999)
    p.add_argument("--http-session-limit", type=int, default=200, help="Asterisk http.conf sessionlimit")
    p.add_argument("--log-level", default="INFO", help="the daemon's log level")
    p.add_argument("--run-dir", help="run folder (default a fresh temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the run folder (logs, SIPp files of the phone and callers)")
    # What bench/queues.py's set-up reads that this bench does not vary.
    p.set_defaults(key="1", strategy="linear", announce_every=30.0, max_wait=120.0, py_spy=False)
    args = p.parse_args(argv)
    if not (args.caller_prefix.isdigit() and len(args.caller_prefix) <= 8 and args.rings < 10 ** (11 - len(args.caller_prefix))):
        p.error("--caller-prefix: digits, leaving room for the ring's index in an 11-digit number")
    if args.rings < 0 or args.loads < 0:
        p.error("--rings and --loads are not negative")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
