"""The browser console for journeys and benchmarks: its build, what its first page must fetch,
Debian's Chromium driven by Playwright (headless; Playwright's own browser download is never used),
API requests, users who log in.

The browser journeys (``tests/console/``) and ``bench/console_perf.py`` both use it; benches import
nothing from ``tests/``, so what they share lives here.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from harness.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ROOT / "console"
CHROMIUM = os.environ.get("CALLCORE_TEST_CHROMIUM", "/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
# What the login page calls itself, and the button that logs in (console/src/views/Login.vue).
LOGIN_HEADING = "96881 市民热线 · 控制台"
LOGIN_BUTTON = "登录"


# -- the build ------------------------------------------------------------------------------------

def build_console(*, timeout: float = 900) -> tuple[Path, str]:
    """Runs ``console/build.sh`` (``npm ci`` and the build when ``dist/`` is out of date); the built
    folder and what the build printed (its last line names the initial JS size when it rebuilt)."""
    done = subprocess.run(["bash", str(CONSOLE / "build.sh")], capture_output=True, text=True, timeout=timeout,
                          check=False)
    output = done.stdout + done.stderr
    dist = CONSOLE / "dist"
    if done.returncode != 0 or not (dist / "index.html").is_file():
        raise RuntimeError(f"console/build.sh failed ({done.returncode}):\n{output[-4000:]}")
    return dist, output


@dataclass(frozen=True)
class Asset:
    """A file the console's page names in its ``<head>``: its size as served and gzipped."""

    path: str  # as index.html names it: /console/assets/...
    kind: str  # "js" (the entry script and its module preloads) or "css"
    raw: int
    gzipped: int


class _HeadRefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        rel = (a.get("rel") or "").lower()
        if tag == "script" and a.get("src"):
            self.refs.append(("js", str(a["src"])))
        elif tag == "link" and rel == "modulepreload" and a.get("href"):
            self.refs.append(("js", str(a["href"])))
        elif tag == "link" and rel == "stylesheet" and a.get("href"):
            self.refs.append(("css", str(a["href"])))


def initial_assets(dist: Path, *, base: str = "/console/") -> list[Asset]:
    """The scripts, module preloads and style sheets ``dist/index.html`` makes the browser fetch
    before anything shows, each gzipped at level 9 as the build's own count does
    (``console/vite.config.ts``: the entry chunk and every chunk it imports statically, which
    Vite writes into the page as module preloads). Pages loaded on demand are not in it."""
    parser = _HeadRefs()
    parser.feed((dist / "index.html").read_text(encoding="utf-8"))
    out = []
    for kind, ref in parser.refs:
        if not ref.startswith(base):
            raise ValueError(f"{ref} is not under {base}: the console fetches nothing from elsewhere")
        data = (dist / ref.removeprefix(base)).read_bytes()
        out.append(Asset(ref, kind, len(data), len(gzip.compress(data, compresslevel=9, mtime=0))))
    return out


# -- the browser ----------------------------------------------------------------------------------

@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (``CALLCORE_TEST_CHROMIUM`` names another binary), driven by a
    Playwright of its own; both are closed on leaving."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} missing: scripts/install-system.sh installs Debian's chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, *, init_script: str | None = None) -> Page:
    """A page in a context of its own (no cache, no session storage shared with another page), at
    the journeys' screen size, in Chinese and Beijing time; ``init_script`` runs in every document
    before the page's own scripts."""
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    if init_script is not None:
        await context.add_init_script(init_script)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    return page


def console_url(stack: Stack, path: str = "") -> str:
    return stack.api.removesuffix("/api/v1") + "/console/" + path


# -- the API and people ---------------------------------------------------------------------------

async def api(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None, *,
              token: str | None = None) -> Any:
    """One API request with a JSON body, as the admin (the stack's bearer token) or as the holder of
    ``token`` (a user's session); the JSON answer. A 4xx or 5xx fails the caller."""
    headers = {"Authorization": f"Bearer {token or stack.env['CALLCORE_API_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as s:
        async with s.request(method, stack.api + path, json=body) as r:
            text = await r.text()
            if r.status >= 400:
                raise AssertionError(f"{method} {path}: {r.status} {text[:500]}")
            return json.loads(text) if text else None


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    password: str
    user_id: str


async def add_user(stack: Stack, role: str, *, name: str, department_id: str | None = None,
                   agent: str | None = None, password: str | None = None) -> ConsoleUser:
    """A new user of ``role`` (a unique username: the store outlives one journey) as an admin creates
    one, in ``department_id`` if given; with ``agent``, the agent number they answer (the agent must
    exist: ``Stack.add_agent``). The password is random unless given."""
    username, password = f"{role}-{secrets.token_hex(3)}", password or secrets.token_urlsafe(12)
    made = await api(stack, "POST", "/admin/users", {"username": username, "password": password, "name": name,
                                                     "role": role, "department_id": department_id})
    user = ConsoleUser(username, password, str(made["id"]))
    if agent is not None:
        await api(stack, "PATCH", f"/agents/{agent}", {"user_id": user.user_id})
    return user


async def log_in(page: Page, stack: Stack, username: str, lands_on: str, *, password: str) -> None:
    """Logs in on the console's login page as a person does; the role's home page is ``lands_on``."""
    await page.goto(console_url(stack))
    await expect(page.get_by_role("heading", name=LOGIN_HEADING)).to_be_visible()
    await page.locator("input[name=username]").fill(username)
    await page.locator("input[name=password]").fill(password)
    await page.get_by_role("button", name=LOGIN_BUTTON).click()
    await page.wait_for_url(console_url(stack, lands_on))
