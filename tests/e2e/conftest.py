"""Journeys through a real Asterisk: one instance for the session, a daemon process per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from callcore.asterisk import process
from callcore.asterisk.installation import recorded
from harness.menus import SHIPPED, always_open
from harness.stack import Stack

# The Asterisk the journeys ran on, said at the end of the run (CI runs them on more than one).
RAN_ON: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in RAN_ON:
        terminalreporter.write_line(f"e2e journeys ran on {line}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's Asterisk: the one ``CALLCORE_ASTERISK`` picks (16, 22, a path), named in the output."""
    s = Stack.create(tmp_path_factory.mktemp("run"))
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, s.start_asterisk()).result()
        running = pool.submit(asyncio.run, process.version(s.conf)).result()
        RAN_ON.append(f"{running} ({recorded(s.conf).name})")
        yield s
        pool.submit(asyncio.run, s.stop_asterisk()).result()


@pytest.fixture
async def daemon(stack: Stack) -> AsyncIterator[Stack]:
    """The daemon running against the session's Asterisk; stopped (and its calls reconciled) after."""
    if stack.daemon is None or stack.daemon.returncode is not None:
        await stack.start_daemon()
    yield stack
    await stack.stop_daemon()


@pytest.fixture
async def ivr_stack(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    """The session's stack on the flow the product ships: the IVR with the shipped menu (``ivr/main.yaml``,
    open at every hour so a journey does not depend on when it runs) and the shipped queues. The daemon
    is not started (a journey about faults starts and stops it itself); whatever flow ran before is
    back after, and callers a failed journey left parked are hung up, not walked into the next one."""
    menus = tmp_path / "ivr"
    menus.mkdir()
    (menus / "main.yaml").write_text(always_open(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    before = {key: stack.env.get(key) for key in ("CALLCORE_FLOW", "CALLCORE_IVR_DIR")}
    await stack.stop_daemon()
    stack.env.update(CALLCORE_FLOW="ivr", CALLCORE_IVR_DIR=str(menus))
    try:
        yield stack
    finally:
        await stack.stop_daemon()
        await stack.cli("channel request hangup all")
        for key, value in before.items():
            if value is None:
                stack.env.pop(key, None)
            else:
                stack.env[key] = value


@pytest.fixture
async def ivr_daemon(ivr_stack: Stack) -> AsyncIterator[Stack]:
    """The daemon running the IVR flow the product ships (``ivr_stack``). ``tests/e2e/test_ivr.py`` has
    one of its own that keeps the daemon up the same way."""
    await ivr_stack.start_daemon()
    yield ivr_stack


@pytest.fixture
def sipp_dir(tmp_path: Path) -> Path:
    return tmp_path / "sipp"
