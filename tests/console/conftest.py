"""Browser journeys: the built console, a real Asterisk and the daemon for the session, and
Debian's Chromium driven by Playwright (headless; Playwright's own browser download is never used).

Numbers of these journeys: agents 5001-5009, callers 13950...: the store and Asterisk are shared
with every journey of the session. Each journey's browser screenshots its pages when it fails, in
``test-results/console/<test>/`` (``CALLCORE_TEST_ARTIFACTS`` names another root).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from harness.browser import ROOT, build_console, chromium, new_page
from harness.stack import Stack
from tests.console.helpers import start_daemon, stop_daemon


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.parent == here and path.name.startswith("test_journey"):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keeps each phase's report on the test, so fixtures know at teardown whether it failed."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="session")
def console_dist() -> Path:
    """The built console (``console/build.sh``: ``npm ci`` and the build when out of date)."""
    dist, _ = build_console()
    return dist


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, console_dist: Path) -> Iterator[Stack]:
    """Asterisk for the session (its own ports and RTP range: the e2e journeys' may run beside it)."""
    rtp = 30000 + (os.getpid() % 50) * 200
    s = Stack.create(tmp_path_factory.mktemp("console-run"), CALLCORE_ASTERISK_RTP_START=str(rtp),
                     CALLCORE_ASTERISK_RTP_END=str(rtp + 199), CALLCORE_CONSOLE_DIR=str(console_dist))
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, s.start_asterisk()).result()
        yield s
        pool.submit(asyncio.run, s.stop_asterisk()).result()


@pytest.fixture
async def daemon(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    """The daemon on the session's stack, with the shipped menu and an empty queue, for one test."""
    await start_daemon(stack, tmp_path, [])
    try:
        yield stack
    finally:
        await stop_daemon(stack)


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    root = Path(os.environ.get("CALLCORE_TEST_ARTIFACTS", ROOT / "test-results" / "console"))
    out = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


class Pages:
    """Opens a page per person (own context: own session storage), and screenshots every page
    at teardown when the test failed."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.opened: list[tuple[str, Page]] = []
        # What the pages reported: console errors and uncaught exceptions, by person.
        self.errors: list[str] = []

    async def open(self, who: str) -> Page:
        page = await new_page(self.browser)
        page.on("console", lambda m: self.errors.append(f"{who}: console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"{who}: uncaught: {e}"))
        self.opened.append((who, page))
        return page


@pytest.fixture
async def pages(browser: Browser, request: pytest.FixtureRequest, artifacts: Path) -> AsyncIterator[Pages]:
    p = Pages(browser)
    yield p
    failed = any(getattr(request.node, f"rep_{w}", None) is not None and getattr(request.node, f"rep_{w}").failed
                 for w in ("setup", "call"))
    if p.errors:
        (artifacts / "browser-errors.log").write_text("\n".join(p.errors) + "\n", encoding="utf-8")
    for who, page in p.opened:
        if failed:
            try:
                await page.screenshot(path=str(artifacts / f"failure-{who}.png"), full_page=True)
            except Exception as exc:  # noqa: BLE001 - a page that is gone has nothing to show
                print(f"no screenshot of {who}: {exc}")
        await page.context.close()
    # A page that broke the policy (something from elsewhere, an inline script) or threw is a failure.
    broken = [e for e in p.errors if "uncaught" in e or "Content Security Policy" in e]
    assert not broken, "\n".join(broken)
