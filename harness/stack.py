"""The product as ops run it, for journeys: a real Asterisk, the daemon as a process, its API.

Each test session gets its own run folder and free loopback ports; secrets are fresh random
values passed through the environment, as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update

from callcore import config
from callcore.asterisk import process
from callcore.asterisk.render import render
from callcore.callbacks.models import CallbackTask
from callcore.queues.directory import AgentDirectory, cli_reload, stored_sip_agents
from callcore.store.db import Database
from callcore.store.migrate import upgrade
from harness.sipp import free_udp_pair


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    run_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    daemon: asyncio.subprocess.Process | None = None
    # The SIP password of each agent ``add_agent`` created, by number.
    agent_passwords: dict[str, str] = field(default_factory=dict)
    _migrated: bool = field(default=False, repr=False)

    @classmethod
    def create(cls, run_dir: Path, **overrides: str) -> Stack:
        rtp = 40000 + (os.getpid() % 100) * 200
        env = {
            "CALLCORE_RUN_DIR": str(run_dir),
            "CALLCORE_ASTERISK_SIP_PORT": str(free_port(socket.SOCK_DGRAM)),
            "CALLCORE_ASTERISK_HTTP_PORT": str(free_port()),
            "CALLCORE_ASTERISK_AMI_PORT": str(free_port()),
            "CALLCORE_ASTERISK_RTP_START": str(rtp),
            "CALLCORE_ASTERISK_RTP_END": str(rtp + 199),
            "CALLCORE_ASTERISK_MAX_CALL_SECONDS": "40",
            "CALLCORE_ASTERISK_BENCH_EXTENSION": "true",
            "CALLCORE_AGI_PORT": str(free_port()),
            "CALLCORE_API_PORT": str(free_port()),
            "CALLCORE_ARI_PASSWORD": secrets.token_urlsafe(16),
            "CALLCORE_AMI_SECRET": secrets.token_urlsafe(16),
            "CALLCORE_API_TOKEN": secrets.token_urlsafe(24),
            "CALLCORE_SECRETS_FILE": str(run_dir / "no-secrets.env"),
            # The citizens' side of the outbound trunk: a ``harness.phones.TrunkPhone`` on this port.
            "CALLCORE_ASTERISK_OUTBOUND_TRUNK": f"sip:127.0.0.1:{free_udp_pair()[0]}",
            "CALLCORE_LOG_JSON": "true",
            # The welcome journey and the load bench run the welcome flow; the journeys of what the product
            # does, under faults too, set CALLCORE_FLOW=ivr (tests/e2e/conftest.py ``ivr_stack``,
            # test_ivr.py, test_queues.py).
            "CALLCORE_FLOW": "welcome",
            # Journeys share one Asterisk and one store: what would reach into another journey is off
            # unless the journey about it turns it on (tests/e2e/test_callbacks.py, test_survey.py).
            # The dialer would ring a later journey's agents for an earlier journey's lost callers;
            # the offer and the survey would change every queue journey's timing.
            "CALLCORE_CALLBACKS_DIAL": "false",
            "CALLCORE_CALLBACKS_MISSED_CALLS": "false",
            "CALLCORE_CALLBACKS_OFFER_AFTER": "0",
            "CALLCORE_SURVEYS_ENABLED": "false",
            "CALLCORE_SURVEYS_CALLS": "false",
        }
        env.update(overrides)
        return cls(run_dir=run_dir, env=env)

    @property
    def settings(self) -> config.Settings:
        return config.load(None, env=self.env)

    @property
    def conf(self) -> Path:
        return self.run_dir / "etc" / "asterisk.conf"

    @property
    def sip(self) -> tuple[str, int]:
        return "127.0.0.1", int(self.env["CALLCORE_ASTERISK_SIP_PORT"])

    @property
    def trunk_port(self) -> int:
        """Where Asterisk sends the calls the hotline places (``TrunkPhone`` listens there)."""
        return int(self.env["CALLCORE_ASTERISK_OUTBOUND_TRUNK"].rsplit(":", 1)[1])

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['CALLCORE_API_PORT']}/api/v1"

    # -- Asterisk ----------------------------------------------------------------------
    async def start_asterisk(self) -> None:
        settings = self.settings
        conf = await render(settings, agents=await stored_sip_agents(settings.database_url))
        await process.start(conf, self.run_dir)

    async def stop_asterisk(self) -> None:
        await process.stop(self.conf, self.run_dir)

    async def cli(self, command: str) -> str:
        return await process.cli(self.conf, command)

    # -- agents ------------------------------------------------------------------------
    async def migrate(self) -> None:
        """Brings the stack's store to the newest schema (the daemon also does at start)."""
        if not self._migrated:
            await upgrade(self.settings.database_url)
            self._migrated = True

    async def add_agent(self, number: str, name: str) -> str:
        """Creates an agent in the store and returns its SIP password, as an admin would; works
        before the daemon starts. Writes ``pjsip_agents.conf`` and, when Asterisk runs, reloads
        its PJSIP through the CLI, so the phone can register at once."""
        await self.migrate()
        settings = self.settings
        db = Database(settings.database_url)
        try:
            issued = await AgentDirectory(db, settings).create(number, name)  # writes pjsip_agents.conf
        finally:
            await db.close()
        await cli_reload(settings)()  # raises if the running Asterisk refuses the reload
        self.agent_passwords[number] = issued.password
        return issued.password

    async def cancel_open_callbacks(self) -> None:
        """Closes every open callback task in the store: a journey about the dialer starts with only its
        own tasks in line (other journeys leave theirs, made while the dialer was off for them)."""
        await self.migrate()
        db = Database(self.settings.database_url)
        try:
            async with db.session() as s:
                await s.execute(update(CallbackTask).where(CallbackTask.status.in_(("pending", "dialling")))
                                .values(status="cancelled", closed_reason="other journey", open_number=None))
        finally:
            await db.close()

    # -- daemon ------------------------------------------------------------------------
    async def start_daemon(self, *, wait: bool = True, **env: str) -> None:
        log = open(self.run_dir / "log" / "daemon.log", "ab")  # noqa: SIM115 - owned by the child
        self.daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcore", "run", env={**os.environ, **self.env, **env}, stdout=log, stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.close()
        if wait:
            await self.wait_health(lambda h: h["components"].get("ari") and h["components"].get("ami"))

    async def stop_daemon(self, sig: int = signal.SIGTERM) -> None:
        if self.daemon is None or self.daemon.returncode is not None:
            return
        self.daemon.send_signal(sig)
        try:
            await asyncio.wait_for(self.daemon.wait(), 15)
        except TimeoutError:
            self.daemon.kill()
            await self.daemon.wait()

    # -- API ---------------------------------------------------------------------------
    async def get(self, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.env['CALLCORE_API_TOKEN']}"}
        async with aiohttp.ClientSession(headers=headers) as s:
            async with s.get(self.api + path, params={k: str(v) for k, v in params.items()}) as r:
                body = await r.text()
                if r.status >= 400 and not path.startswith("/health"):
                    raise AssertionError(f"GET {path}: {r.status} {body}")
                return json.loads(body)

    async def health(self) -> dict[str, Any]:
        try:
            return dict(await self.get("/health"))
        except (aiohttp.ClientError, OSError, ValueError):
            return {"components": {}}

    async def wait_health(self, ok: Any, timeout: float = 30) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            h = await self.health()
            if ok(h):
                return h
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not healthy in {timeout} s: {h}; daemon log:\n{self.daemon_log()[-3000:]}")
            await asyncio.sleep(0.2)

    def daemon_log(self) -> str:
        p = self.run_dir / "log" / "daemon.log"
        return p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""

    async def calls(self, **params: Any) -> list[dict[str, Any]]:
        return list((await self.get("/calls", **params))["items"])

    async def call_detail(self, call_id: str) -> dict[str, Any]:
        return dict(await self.get(f"/calls/{call_id}"))

    async def wait_for_calls(self, n: int, *, status: str = "ended", timeout: float = 20, **params: Any) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                rows = await self.calls(status=status, **params)
            except (AssertionError, aiohttp.ClientError, OSError):
                rows = []
            if len(rows) >= n:
                return rows
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {n} {status} calls, have {len(rows)}; daemon log:\n{self.daemon_log()[-3000:]}")
            await asyncio.sleep(0.3)
