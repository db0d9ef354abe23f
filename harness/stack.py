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

from callcore import config
from callcore.asterisk import process
from callcore.asterisk.render import render


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    run_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    daemon: asyncio.subprocess.Process | None = None

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
            "CALLCORE_AGENT_PASSWORD": secrets.token_urlsafe(16),
            "CALLCORE_SECRETS_FILE": str(run_dir / "no-secrets.env"),
            "CALLCORE_LOG_JSON": "true",
            # The foundation's journeys run the welcome flow; the IVR's set CALLCORE_FLOW=ivr.
            "CALLCORE_FLOW": "welcome",
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
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['CALLCORE_API_PORT']}/api/v1"

    # -- Asterisk ----------------------------------------------------------------------
    async def start_asterisk(self) -> None:
        conf = await render(self.settings)
        await process.start(conf, self.run_dir)

    async def stop_asterisk(self) -> None:
        await process.stop(self.conf, self.run_dir)

    async def cli(self, command: str) -> str:
        return await process.cli(self.conf, command)

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
