"""Runs Asterisk as a plain process on the rendered configuration (no system service needed).

Which Asterisk, and how it is invoked (a root of its own runs through its own loader), is the one
the configuration was rendered for (``callcore.asterisk.installation.recorded``).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from callcore.asterisk.installation import recorded


class AsteriskError(RuntimeError):
    pass


async def cli(conf: Path, command: str, *, timeout: float = 10.0) -> str:
    """Runs one CLI command on the running instance through its control socket."""
    proc = await asyncio.create_subprocess_exec(
        *recorded(conf).argv("-C", str(conf), "-rx", command),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AsteriskError(f"asterisk -rx {command!r} did not answer in {timeout} s") from None
    return out.decode("utf-8", "replace")


async def version(conf: Path) -> str:
    """The running instance's version ("Asterisk 22.10.1+dfsg..."), as it says itself."""
    out = await cli(conf, "core show version", timeout=5)
    first = out.strip().splitlines()[0] if out.strip() else ""
    return first.split(" built by ")[0]  # the rest names the build host and date


async def describe(conf: Path, run_dir: Path) -> list[str]:
    """What ``callcore asterisk version`` prints: the Asterisk the configuration was rendered for
    (which one, its binary, what it says it is) and the version the running instance reports."""
    inst = recorded(conf)
    lines = [f"configured: {inst.name} ({inst.binary}): {inst.version() or 'does not run'}"]
    pid = running_pid(run_dir)
    if pid is None:
        lines.append("running: none")
    else:
        try:
            lines.append(f"running: {await version(conf)}")
        except AsteriskError as exc:
            lines.append(f"running: no answer ({exc})")
        lines.append(f"priority: {'real-time' if realtime(pid) else 'normal'}")
    return lines


def realtime(pid: int) -> bool:
    """Whether the process runs at a real-time priority (``highpriority``/``-p``: SCHED_RR). Asterisk
    only asks for it when started as root and says nothing when it cannot have it, so this is how
    ``callcore asterisk start`` tells an operator who asked for it that it did not happen."""
    try:
        return os.sched_getscheduler(pid) in (os.SCHED_RR, os.SCHED_FIFO)
    except OSError:
        return False


def pid_file(run_dir: Path) -> Path:
    return run_dir / "run" / "asterisk.pid"


def running_pid(run_dir: Path) -> int | None:
    try:
        pid = int(pid_file(run_dir).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


async def start(conf: Path, run_dir: Path, *, timeout: float = 30.0) -> int:
    """Starts Asterisk (it detaches itself and writes its pid file); waits until fully booted.

    Returns the pid. Asterisk daemonizing itself means nothing of ours has to stay alive for it.
    """
    with open(run_dir / "log" / "asterisk.out", "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            *recorded(conf).argv("-C", str(conf), "-n"), stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )
        code = await proc.wait()
    if code != 0:
        raise AsteriskError(f"asterisk exited with {code}; see {run_dir / 'log'}")
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        pid = running_pid(run_dir)
        if pid is not None and (run_dir / "run" / "asterisk.ctl").exists():
            try:
                out = await cli(conf, "core waitfullybooted", timeout=5)
                if "fully booted" in out.lower():
                    return pid
            except AsteriskError:
                pass
        await asyncio.sleep(0.2)
    raise AsteriskError(f"asterisk did not boot within {timeout} s; see {run_dir / 'log'}")


async def stop(conf: Path, run_dir: Path, *, timeout: float = 15.0) -> None:
    pid = running_pid(run_dir)
    if pid is None:
        return
    try:
        await cli(conf, "core stop now", timeout=5)
    except AsteriskError:
        pass
    for _ in range(int(timeout * 10)):
        if running_pid(run_dir) is None:
            return
        await asyncio.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
