"""The rendered configuration suits the Asterisk it runs on: nothing to warn about at start-up.

A template written for one version often still loads on the next with a deprecation warning or an
error about an option it no longer knows (a module that silently does less). The journeys would miss
that until the option is removed, so the session's Asterisk log is read up to "Asterisk Ready.": not
one WARNING or ERROR line, on each Asterisk CI runs the journeys on (22 and 16).
"""

from __future__ import annotations

import os
import re

from callcore.asterisk import process
from callcore.asterisk.installation import recorded
from harness.stack import Stack

# "[2026-12-01 15:58:28.795] WARNING[17079] loader.c: ..." (asterisk-conf/logger.conf's dateformat).
_LEVEL = re.compile(r"^\[[^]]+\] (?P<level>[A-Z]+)\[\d+\]")
READY = "Asterisk Ready."


def start_up_lines(log: str) -> list[str]:
    """The log lines of the first start-up: from the beginning to "Asterisk Ready." (included)."""
    lines = []
    for line in log.splitlines():
        lines.append(line)
        if line.rstrip().endswith(READY):
            return lines
    raise AssertionError(f"Asterisk never logged {READY!r}: {lines[-5:]}")


def complaints(lines: list[str]) -> list[str]:
    """Lines at WARNING or ERROR level, and any that says something is deprecated."""
    found = []
    for line in lines:
        m = _LEVEL.match(line)
        if (m is not None and m.group("level") in ("WARNING", "ERROR")) or "deprecat" in line.lower():
            found.append(line)
    return found


def test_the_reader_sees_warnings_errors_and_deprecations() -> None:
    log = "\n".join([
        "[2026-12-01 15:58:28.795] NOTICE[17079] loader.c: 96 modules will be loaded.",
        "[2026-12-01 15:58:28.796] WARNING[17079] config.c: option 'x' is unknown",
        "[2026-12-01 15:58:28.797] VERBOSE[17079] res_pjsip.c: 'y' is deprecated, use 'z'",
        "[2026-12-01 15:58:28.798] ERROR[17079] loader.c: module failed",
        "[2026-12-01 15:58:28.799] VERBOSE[17079] asterisk.c: Asterisk Ready.",
        "[2026-12-01 15:58:29.000] WARNING[17080] chan_pjsip.c: a call's own trouble, after start-up",
    ])
    assert [line.split("] ", 1)[1][:5] for line in complaints(start_up_lines(log))] == ["WARNI", "VERBO", "ERROR"]


async def test_asterisk_starts_without_a_warning_on_the_rendered_configuration(stack: Stack) -> None:
    log = (stack.run_dir / "log" / "messages").read_text(encoding="utf-8", errors="replace")
    lines = start_up_lines(log)
    loaded = [line for line in lines if "modules will be loaded" in line]
    assert loaded, "the log does not hold the start-up (logger.conf's messages file changed?)"
    assert complaints(lines) == [], f"{recorded(stack.conf).name}: {await process.version(stack.conf)}"


async def test_asterisk_runs_at_real_time_priority_when_started_as_root(stack: Stack) -> None:
    # asterisk.realtime (on by default): Asterisk asks for SCHED_RR only when it runs as root.
    pid = process.running_pid(stack.run_dir)
    assert pid is not None
    assert process.realtime(pid) == (os.geteuid() == 0)
    assert "priority: " + ("real-time" if os.geteuid() == 0 else "normal") in await process.describe(stack.conf, stack.run_dir)
