"""A fake Asterisk manager interface on 127.0.0.1: banner, Login, Ping, Command, list actions, silence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

BANNER = b"Asterisk Call Manager/5.0.1\r\n"

FULLY_BOOTED = b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\nStatus: Fully Booted\r\n\r\n"

Reply = Callable[[dict[str, str]], str | None]


def parse(frame: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in frame.decode("utf-8").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            out[key] = value
    return out


def message(**headers: str) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"


class FakeAmi:
    """Answers like Asterisk 16; ``silent`` actions never get an answer; ``commands`` maps CLI to output."""

    def __init__(self, *, username: str = "callcore", secret: str = "test-secret-1", port: int = 0) -> None:
        self.username = username
        self.secret = secret
        self.port = port
        # False: as an Asterisk still loading modules (or a read= without "system"): no FullyBooted at Login.
        self.fully_booted = True
        self.silent: set[str] = set()
        self.commands: dict[str, list[str]] = {}
        self.replies: dict[str, Reply] = {}
        self.logins: list[dict[str, str]] = []
        self.received: list[dict[str, str]] = []
        self.sessions: set[asyncio.StreamWriter] = set()
        self.logged_in = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every session, as an Asterisk that exits."""
        if self._server is not None:
            self._server.close()
        await self.drop_sessions()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def drop_sessions(self) -> None:
        for writer in list(self.sessions):
            writer.close()
        for writer in list(self.sessions):
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def send(self, data: bytes, *, pause: float = 0.0) -> None:
        """Write to every logged-in session; ``pause`` > 0 writes one byte at a time."""
        for writer in list(self.sessions):
            if pause:
                for i in range(len(data)):
                    writer.write(data[i:i + 1])
                    await writer.drain()
                    await asyncio.sleep(pause)
            else:
                writer.write(data)
                await writer.drain()

    async def send_split(self, data: bytes, at: int) -> None:
        """Write ``data`` as two TCP segments, the first ending at byte ``at``."""
        for writer in list(self.sessions):
            writer.write(data[:at])
            await writer.drain()
            await asyncio.sleep(0.05)  # let the client read the first part on its own
            writer.write(data[at:])
            await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            writer.write(BANNER)
            authenticated = False
            while True:
                try:
                    frame = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                action = parse(frame)
                name = action.get("Action", "").lower()
                if not authenticated and name != "login":
                    writer.write(message(Response="Error", ActionID=action.get("ActionID", ""),
                                         Message="Missing action in request").encode())
                    continue
                if name == "login":
                    self.logins.append(action)
                    aid = action["ActionID"]
                    if action.get("Username") == self.username and action.get("Secret") == self.secret:
                        authenticated = True
                        self.sessions.add(writer)
                        writer.write(message(Response="Success", ActionID=aid,
                                             Message="Authentication accepted").encode())
                        if self.fully_booted:
                            writer.write(FULLY_BOOTED)
                        self.logged_in.set()
                    else:
                        # manager.c closes the session after a failed Login.
                        writer.write(message(Response="Error", ActionID=aid, Message="Authentication failed").encode())
                        break
                    continue
                self.received.append(action)
                reply = self._reply(name, action)
                if reply is not None:
                    writer.write(reply.encode())
            writer.close()
        finally:
            self.sessions.discard(writer)
            self._tasks.discard(task)

    def _reply(self, name: str, action: dict[str, str]) -> str | None:
        aid = action["ActionID"]
        if name in self.silent:
            return None
        if name in self.replies:
            return self.replies[name](action)
        if name == "ping":
            return message(Response="Success", ActionID=aid, Ping="Pong", Timestamp="1700000000.000000")
        if name == "command":
            cli = action.get("Command", "")
            if cli not in self.commands:
                complaint = f"No such command '{cli}' (type 'core show help {cli}' for other possible commands)"
                return message(Response="Error", ActionID=aid, Message="Command output follows", Output=complaint)
            lines = "".join(f"Output: {line}\r\n" for line in self.commands[cli])
            return f"Response: Success\r\nActionID: {aid}\r\nMessage: Command output follows\r\n{lines}\r\n"
        unknown = f"Invalid/unknown command: {action['Action']}. Use Action: ListCommands to show available commands."
        return message(Response="Error", ActionID=aid, Message=unknown)
