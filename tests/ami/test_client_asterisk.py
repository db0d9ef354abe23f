"""AmiClient against a real Asterisk 16 with a minimal manager-only configuration (a few seconds)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from callcore.ami import AmiClient, AmiError, AmiMessage
from callcore.config import AsteriskSettings

ASTERISK = "/usr/sbin/asterisk"
SECRET = "ami-test-secret-7"
DIRS = ("etc", "run", "log", "spool", "lib", "db")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Asterisk:
    """``asterisk -f`` on a throw-away configuration: manager on 127.0.0.1, device state modules only."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        for name in DIRS:
            (root / name).mkdir(exist_ok=True)
        etc = root / "etc"
        (etc / "asterisk.conf").write_text(
            "[directories]\n"
            f"astetcdir => {etc}\nastrundir => {root / 'run'}\nastlogdir => {root / 'log'}\n"
            f"astspooldir => {root / 'spool'}\nastvarlibdir => {root / 'lib'}\nastdbdir => {root / 'db'}\n"
            f"astkeydir => {root / 'lib'}\nastagidir => {root / 'lib'}\n"
            "astmoddir => /usr/lib/asterisk/modules\nastdatadir => /usr/share/asterisk\n"
            "[options]\n"
        )
        # DeviceStateChange reaches AMI only through res_manager_devicestate (not part of manager.c).
        (etc / "modules.conf").write_text(
            "[modules]\nautoload = no\nload => res_manager_devicestate.so\nload => func_devstate.so\n"
        )
        (etc / "manager.conf").write_text(
            f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {port}\n\n"
            f"[callcore]\nsecret = {SECRET}\nread = system,call,agent,command\nwrite = system,call,command\n"
        )
        (etc / "logger.conf").write_text("[logfiles]\n")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [ASTERISK, "-C", str(self.root / "etc" / "asterisk.conf"), "-f", "-n", "-q"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def asterisk() -> Iterator[Asterisk]:
    # A short root: the control socket path (astrundir/asterisk.ctl) must fit in sockaddr_un.
    root = Path(tempfile.mkdtemp(prefix="ccami-"))
    server = Asterisk(root, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def events() -> asyncio.Queue[AmiMessage]:
    return asyncio.Queue()


@pytest.fixture
async def client(asterisk: Asterisk, events: asyncio.Queue[AmiMessage]) -> AsyncIterator[AmiClient]:
    settings = AsteriskSettings(ami_port=asterisk.port, ami_user="callcore", ami_secret=SECRET)
    ami = AmiClient(settings, on_event=events.put_nowait)
    ami.backoff_initial = 0.1
    ami.backoff_max = 0.5
    await ami.start()
    assert await ami.wait_connected(10), "Asterisk's manager interface did not come up"
    yield ami
    await ami.close()


async def next_event(events: asyncio.Queue[AmiMessage], name: str) -> AmiMessage:
    async with asyncio.timeout(5):
        while (event := await events.get()).get("Event") != name:
            pass
    return event


async def test_real_asterisk_round_trip_events_and_restart(
    asterisk: Asterisk, client: AmiClient, events: asyncio.Queue[AmiMessage]
) -> None:
    assert (await client.command("core show version")).startswith("Asterisk 16")
    with pytest.raises(AmiError, match="No such command"):
        await client.command("no such command")

    # UTF-8 both ways through Asterisk.
    await client.action({"Action": "Setvar", "Variable": "CALLER_NAME", "Value": "张三"})
    (response,) = await client.action({"Action": "Getvar", "Variable": "CALLER_NAME"})
    assert response["Value"] == "张三"

    # DeviceStateChange is in the "call" class we subscribe to.
    await client.command("devstate change Custom:callcore INUSE")
    event = await next_event(events, "DeviceStateChange")
    assert (event["Device"], event["State"]) == ("Custom:callcore", "INUSE")

    # Asterisk restarts: the client notices, reconnects with backoff and logs in again.
    asterisk.stop()
    async with asyncio.timeout(5):
        while client.connected:
            await asyncio.sleep(0.05)
    asterisk.start()
    assert await client.wait_connected(10)
    assert (await client.action({"Action": "Ping"}))[0]["Ping"] == "Pong"
