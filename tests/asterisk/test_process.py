"""The process is invoked as the installation the configuration was rendered for says."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from callcore.asterisk import process
from callcore.asterisk.installation import Installation, record


async def test_cli_runs_the_recorded_installation(tmp_path: Path) -> None:
    # A stand-in "loader" that prints how it was invoked.
    loader = tmp_path / "ld.so"
    loader.write_text('#!/bin/sh\necho "$@"\n')
    loader.chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    record(etc, Installation(name="22", binary="/root22/usr/sbin/asterisk", modules_dir="/m", data_dir="/d",
                             sbin_dir="/root22/usr/sbin", loader=str(loader), library_path="/root22/usr/lib"))
    out = await process.cli(etc / "asterisk.conf", "core show version")
    assert out.split() == ["--library-path", "/root22/usr/lib", "/root22/usr/sbin/asterisk",
                           "-C", str(etc / "asterisk.conf"), "-rx", "core", "show", "version"]
    assert await process.version(etc / "asterisk.conf") == out.strip()


def _kernel_realtime_thread() -> int | None:
    """A kernel thread that always runs SCHED_FIFO (``migration/N``), where /proc shows the host's."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("migration/"):
                return int(entry.name)
        except OSError:
            continue
    return None


async def test_realtime_tells_a_real_time_process_from_a_normal_one() -> None:
    assert process.realtime(os.getpid()) is False
    assert process.realtime(2**22 + 1) is False  # no such process
    kernel = _kernel_realtime_thread()
    if kernel is not None:
        assert process.realtime(kernel) is True
        return
    # No host threads in view (a container): a child of our own at SCHED_RR, which takes root.
    child = await asyncio.create_subprocess_exec(
        "sleep", "30", preexec_fn=lambda: os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1)))
    try:
        assert process.realtime(child.pid) is True
    finally:
        child.kill()
        await child.wait()
