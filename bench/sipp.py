"""The load generator: one SIPp UAC process placing calls at a fixed rate, and what it measured.

The calls are the journeys' SIPp script (``harness.sipp.scenario``): by default the plainest
caller, INVITE, 200 (its time from the INVITE is response-time measure ``answer``), ACK, then wait
for the hotline's BYE and answer it. Each call has its own From number. SIPp sends RTP only for the
steps that say so (keys, ``Speak``); the SDP points Asterisk's RTP at a UDP socket that is held open
and never read, so the packets are dropped quietly in the kernel (no ICMP "port unreachable" storm
back into Asterisk).
"""

from __future__ import annotations

import asyncio
import csv
import math
import os
import shutil
import socket
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from harness import sipp as scenarios

SIPP = shutil.which("sipp") or "/usr/bin/sipp"

@dataclass
class SippRun:
    returncode: int
    offered: int
    completed: int
    failed: int
    offer_seconds: float
    wall_seconds: float
    peak_concurrent: int
    rtd_ms: list[float] = field(default_factory=list)
    output: str = ""

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the INVITE->200 times (NaN without samples)."""
        if not self.rtd_ms:
            return math.nan
        ordered = sorted(self.rtd_ms)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


def _seconds(stamp: str) -> float:
    """SIPp's elapsed time ``HH:MM:SS:uuuuuu`` (or ``HH:MM:SS``) in seconds."""
    parts = stamp.strip().split(":")
    h, m, s = (int(x) for x in parts[:3])
    frac = int(parts[3]) / 10 ** len(parts[3]) if len(parts) > 3 else 0.0
    return h * 3600 + m * 60 + s + frac


def _read_stats(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return [row for row in csv.DictReader(fh, delimiter=";") if row.get("ElapsedTime(C)")]


def _read_rtd(workdir: Path) -> list[float]:
    values: list[float] = []
    for path in workdir.glob("*_rtt.csv"):
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.reader(fh, delimiter=";"):
                if len(row) >= 2:
                    try:
                        values.append(float(row[1]))
                    except ValueError:
                        continue  # the header
    return values


# Above Asterisk's own (asterisk.realtime: SCHED_RR 10), for the test's phones (``--phones-realtime``).
PHONES_PRIORITY = 20


def make_realtime(pid: int, priority: int = PHONES_PRIORITY) -> None:
    """Every thread of ``pid`` at SCHED_RR ``priority`` (threads it starts later inherit it from the one
    that starts them). For the test's phones: a real phone has a CPU of its own, so a busy hotline server
    cannot delay its packets; SIPp's threads on the machine under test can be, unless they run first."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setscheduler(int(task.name), os.SCHED_RR, os.sched_param(priority))
        except ProcessLookupError:
            continue  # the thread ended


async def run_uac(
    target: tuple[str, int], *, service: str, cps: float, calls: int, limit: int, workdir: Path,
    call_timeout_s: float = 30, steps: list[scenarios.Step] | None = None, realtime: int = 0,
) -> SippRun:
    """Places ``calls`` calls at ``cps`` and waits for SIPp to finish them all.

    ``steps`` come after the ACK; the call ends waiting for the hotline's BYE, unless the caller
    hangs up (the last step is ``HangUp``). ``realtime``: SIPp at that SCHED_RR priority (``make_realtime``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    try:
        xml = workdir / "uac.xml"
        script = list(steps or [])
        if not script or not isinstance(script[-1], scenarios.HangUp):
            script.append(scenarios.ExpectHangup(int(call_timeout_s * 1000)))
        xml.write_text(
            scenarios.scenario(script, caller="1390000[call_number]", media_port=str(sink.getsockname()[1])),
            encoding="utf-8",
        )
        stats = workdir / "stats.csv"
        host, port = target
        sip_port, media_port = scenarios.free_udp_pair()  # -mp: where Speak(via="stream") sends from
        args = [
            SIPP, f"{host}:{port}", "-sf", str(xml), "-s", service, "-i", "127.0.0.1", "-p", str(sip_port),
            "-mp", str(media_port),
            "-m", str(calls), "-r", str(cps), "-rp", "1000", "-l", str(limit),
            "-timeout", f"{int(call_timeout_s * 2 + calls / cps + 30)}s", "-nostdin",
            "-recv_timeout", str(int(call_timeout_s * 1000)),
            "-trace_stat", "-stf", str(stats), "-fd", "1",
            "-trace_rtt", "-rtt_freq", "1",
            "-trace_err", "-error_file", str(workdir / "errors.log"),
            "-trace_screen", "-screen_file", str(workdir / "screen.log"),
        ]
        loop = asyncio.get_running_loop()
        started = loop.time()
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=partial(os.sched_setscheduler, 0, os.SCHED_RR, os.sched_param(realtime)) if realtime else None,
        )
        try:
            out, _ = await proc.communicate()
        except asyncio.CancelledError:
            # Interrupted bench: SIPp must not go on calling on its own.
            proc.kill()
            await proc.wait()
            raise
        wall = loop.time() - started
    finally:
        sink.close()
    rows = _read_stats(stats) if stats.exists() else []
    last = rows[-1] if rows else {}
    offered = int(last.get("OutgoingCall(C)", 0) or 0)
    # When the last call was created: the first dump that counts them all (1 s resolution, so
    # interpolated inside that second from the previous dump's count).
    offer_seconds = wall
    prev_t, prev_n = 0.0, 0
    for row in rows:
        t, n = _seconds(row["ElapsedTime(C)"]), int(row["OutgoingCall(C)"] or 0)
        if n >= offered and n > prev_n:
            offer_seconds = prev_t + (t - prev_t) * (offered - prev_n) / (n - prev_n)
            break
        prev_t, prev_n = t, n
    return SippRun(
        returncode=proc.returncode if proc.returncode is not None else -1,
        offered=offered,
        completed=int(last.get("SuccessfulCall(C)", 0) or 0),
        failed=int(last.get("FailedCall(C)", 0) or 0),
        offer_seconds=offer_seconds,
        wall_seconds=wall,
        peak_concurrent=max((int(r.get("CurrentCall", 0) or 0) for r in rows), default=0),
        rtd_ms=_read_rtd(workdir),
        output=out.decode("utf-8", "replace"),
    )
