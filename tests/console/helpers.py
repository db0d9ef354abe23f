"""What the browser journeys set up through the API, as an admin would: users (who all share one
password), departments, agents linked to users, tickets; what the telephony would have stored
(voicemails, callback tasks). Requests, users and the login itself are ``harness.browser``'s."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Locator, Page

from callcore.callbacks.models import CallbackTask
from callcore.recordings import audio
from callcore.recordings.models import DONE, Recording
from callcore.store.base import utcnow
from callcore.store.db import Database
from harness import browser
from harness.browser import add_user, api
from harness.menus import SHIPPED, always_open
from harness.stack import Stack
from tests.recordings.helpers import add_call, write_wav

PASSWORD = "console-journey-pw"


async def user(stack: Stack, role: str, *, name: str, department_id: str | None = None) -> str:
    """A new user of ``role`` with the journeys' password; its username."""
    return (await add_user(stack, role, name=name, department_id=department_id, password=PASSWORD)).username


async def token(stack: Stack, username: str) -> str:
    """A session token of ``username`` (a user of these journeys), for steps a person of that role
    takes through the API before the page is looked at."""
    return str((await api(stack, "POST", "/auth/login", {"username": username, "password": PASSWORD}))["token"])


async def user_id(stack: Stack, username: str) -> str:
    return str(next(u["id"] for u in await api(stack, "GET", "/admin/users") if u["username"] == username))


async def department(stack: Stack, name: str) -> str:
    code = f"dep{secrets.token_hex(3)}"
    return str((await api(stack, "POST", "/departments", {"code": code, "name": name}))["id"])


async def agent(stack: Stack, number: str, username: str) -> str:
    """Agent ``number`` (created once per session) answered by ``username``; its SIP password."""
    if number not in stack.agent_passwords:
        await stack.add_agent(number, f"坐席{number}")
    await api(stack, "PATCH", f"/agents/{number}", {"user_id": await user_id(stack, username)})
    return stack.agent_passwords[number]


def queues_yaml(members: list[str]) -> str:
    q = {"name": "general", "display_name": "综合服务", "strategy": "linear", "ring_timeout": 15, "retry_delay": 1,
         "wrap_up": 30, "max_wait": 120, "on_max_wait": "fallback", "announce_every": 30,
         "members": [{"agent": a, "penalty": 0} for a in members]}
    complaint = {**q, "name": "complaint", "display_name": "投诉举报"}
    return json.dumps({"queues": [q, complaint]}, ensure_ascii=False)  # JSON is YAML


async def start_daemon(stack: Stack, tmp_path: Path, members: list[str]) -> None:
    """The daemon with the shipped menu (open at every hour) and a queue of ``members``."""
    ivr_dir = tmp_path / "ivr"
    ivr_dir.mkdir(exist_ok=True)
    (ivr_dir / "main.yaml").write_text(always_open(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    (tmp_path / "queues.yaml").write_text(queues_yaml(members), encoding="utf-8")
    stack.env.update(CALLCORE_IVR_DIR=str(ivr_dir), CALLCORE_FLOW="ivr", CALLCORE_QUEUES_FILE=str(tmp_path / "queues.yaml"))
    await stack.stop_daemon()
    await stack.start_daemon()


async def stop_daemon(stack: Stack) -> None:
    await stack.stop_daemon()
    await stack.cli("channel request hangup all")
    for key in ("CALLCORE_IVR_DIR", "CALLCORE_QUEUES_FILE"):
        stack.env.pop(key, None)
    stack.env["CALLCORE_FLOW"] = "welcome"


async def log_in(page: Page, stack: Stack, username: str, lands_on: str) -> None:
    """Logs in as ``username`` (a user of these journeys) on the console's login page; the role's
    home page is ``lands_on``."""
    await browser.log_in(page, stack, username, lands_on, password=PASSWORD)


def field(scope: Page | Locator, name: str) -> Locator:
    """The text box of the Element Plus input marked ``data-test=name`` (on the box or around it)."""
    return scope.locator(f"input[data-test={name}], textarea[data-test={name}], [data-test={name}] input, "
                         f"[data-test={name}] textarea")


async def pick(page: Page, select: str, option: str) -> None:
    """Chooses ``option`` in the Element Plus select marked ``data-test=select``."""
    await page.locator(f"[data-test={select}]").click()
    await page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def citizen_number() -> str:
    """A mobile number of these journeys (13950...), new each time: one open callback task per number."""
    return f"1395{secrets.randbelow(10_000_000):07d}"


async def store_recording(stack: Stack, *, kind: str = "call", seconds: float = 3.0,
                          call_id: str | None = None) -> tuple[str, str]:
    """A recording as the daemon stores one (its call, the row, the WAV): a conversation, or a
    message (``kind="voicemail"``); its id and its call's."""
    await stack.migrate()
    db = Database(stack.settings.database_url)
    try:
        call_id = await add_call(db, call_id)
        rec_id = str(uuid.uuid4())
        path = write_wav(stack.run_dir / "spool" / "recording" / f"{kind}-{rec_id}.wav", seconds)
        facts = audio.measure(path)
        started = utcnow() - timedelta(minutes=2)
        async with db.session() as s:
            s.add(Recording(id=rec_id, call_id=call_id, name=f"{kind}-{rec_id}", kind=kind,
                            mailbox="96881" if kind == "voicemail" else None,
                            agent=None if kind == "voicemail" else "5004",
                            path=str(path), format="wav", status=DONE, started_at=started,
                            ended_at=started + timedelta(seconds=seconds), duration=facts.duration, size=facts.size,
                            sha256=facts.sha256, missing=False))
    finally:
        await db.close()
    return rec_id, call_id


async def store_voicemail(stack: Stack, *, seconds: float = 3.0) -> str:
    """A message as the daemon stores one; its id."""
    return (await store_recording(stack, kind="voicemail", seconds=seconds))[0]


async def store_callback_task(stack: Stack, number: str, *, origin: str = "missed", due_in: float = 60) -> str:
    """An open callback task as the missed-call sweep makes one (the dialer is off in journeys), first
    tried ``due_in`` seconds from now; its id."""
    await stack.migrate()
    db = Database(stack.settings.database_url)
    now = utcnow()
    task_id = str(uuid.uuid4())
    try:
        async with db.session() as s:
            s.add(CallbackTask(id=task_id, number=number, open_number=number, origin=origin, call_id=None,
                               queue="general", entered_at=now - timedelta(minutes=3), seq=0, priority=0,
                               status="pending", attempts=0, deadline=now + timedelta(hours=24), created_at=now,
                               asked_at=now, next_attempt_at=now + timedelta(seconds=due_in),
                               origins=[{"origin": origin, "call_id": None, "voicemail_id": None,
                                         "at": now.isoformat()}]))
    finally:
        await db.close()
    return task_id
