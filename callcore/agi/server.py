"""A FastAGI server (Asterisk ``AGI(agi://host:port/SCRIPT)``) that reads its peer defensively.

Owned here rather than taken from ``panoramisk.fast_agi.Application`` (1.4), which on Python 3.11
wraps plain handlers with the removed ``asyncio.coroutine`` (AttributeError), waits forever for a
header from a peer that disconnected mid-header, and decodes with ``errors='ignore'``, dropping
Chinese characters. Here: header lines are bounded (stream ``limit``) and the whole header must
arrive within ``header_timeout``; EOF is explicit; bytes are decoded by one incremental UTF-8 decoder
per connection, with ``errors='replace'`` so a malformed byte shows as U+FFFD instead of vanishing;
handlers must be ``async`` (refused at construction otherwise) and are looked up in a table built once
by the script path; every AGI command has a timeout.

Protocol reference: Asterisk ``res/res_agi.c`` (``agi_handle_command``, FastAGI ``agi_network_script``)
and https://docs.asterisk.org/Configuration/Interfaces/Asterisk-Gateway-Interface-AGI/.
"""

from __future__ import annotations

import asyncio
import codecs
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

AgiHandler = Callable[["AgiRequest"], Awaitable[None]]

_RESPONSE = re.compile(r"^(\d{3})(?:[ -](.*))?$")
_RESULT = re.compile(r"^result=(\S*)(?:\s+\((.*)\))?")


class AgiError(RuntimeError):
    """An AGI exchange failed (peer gone, timeout, malformed or error response)."""


class AgiHangup(AgiError):
    """The channel hung up (Asterisk sent ``HANGUP`` or answered 511)."""


@dataclass(frozen=True, slots=True)
class AgiResponse:
    """One command's answer: ``200 result=1 (value)`` gives code 200, result "1", data "value"."""

    code: int
    result: str
    data: str
    raw: str

    @property
    def ok(self) -> bool:
        return self.code == 200


def parse_response(line: str) -> AgiResponse:
    match = _RESPONSE.match(line)
    if not match:
        raise AgiError(f"malformed AGI response {line!r}")
    code, rest = int(match.group(1)), match.group(2) or ""
    result = _RESULT.match(rest)
    if result:
        return AgiResponse(code=code, result=result.group(1), data=result.group(2) or "", raw=line)
    return AgiResponse(code=code, result="", data=rest, raw=line)


def quote(value: str) -> str:
    """A value as one AGI argument: in double quotes, with ``\\`` and ``"`` escaped and line breaks removed."""
    clean = value.replace("\r", " ").replace("\n", " ").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{clean}"'


class AgiRequest:
    """One FastAGI session: the ``agi_*`` headers and the commands a handler sends back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str], *,
                 decoder: codecs.IncrementalDecoder, command_timeout: float) -> None:
        self.headers = headers
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self._timeout = command_timeout
        self._lock = asyncio.Lock()
        self.hung_up = False

    @property
    def script(self) -> str:
        return script_name(self.headers.get("agi_network_script", ""))

    @property
    def caller_number(self) -> str:
        value = self.headers.get("agi_callerid", "")
        return "" if value in ("unknown", "") else value

    @property
    def caller_name(self) -> str:
        value = self.headers.get("agi_calleridname", "")
        return "" if value == "unknown" else value

    @property
    def args(self) -> list[str]:
        out = []
        n = 1
        while f"agi_arg_{n}" in self.headers:
            out.append(self.headers[f"agi_arg_{n}"])
            n += 1
        return out

    async def _line(self) -> str:
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise AgiHangup("the peer closed the connection") from None
        except asyncio.LimitOverrunError:
            raise AgiError("AGI response line too long") from None
        return self._decoder.decode(raw).rstrip("\r\n")

    async def command(self, line: str, *, timeout: float | None = None) -> AgiResponse:
        """Send one AGI command and read its response (multi-line 520 usage replies are read whole)."""
        if "\n" in line or "\r" in line:
            raise ValueError("an AGI command is one line")
        async with self._lock:
            try:
                async with asyncio.timeout(timeout or self._timeout):
                    self._writer.write(line.encode("utf-8") + b"\n")
                    await self._writer.drain()
                    while True:
                        text = await self._line()
                        if text == "HANGUP":  # sent once when the channel hangs up; the answer follows
                            self.hung_up = True
                            continue
                        break
                    if text.startswith("520-"):
                        usage = [text]
                        while not text.startswith("520 "):
                            text = await self._line()
                            usage.append(text)
                        return AgiResponse(code=520, result="", data="\n".join(usage), raw=usage[0])
            except TimeoutError:
                raise AgiError(f"no answer to {line.split(' ', 2)[:2]} in {timeout or self._timeout:g} s") from None
            except (ConnectionError, OSError) as exc:
                raise AgiHangup(f"connection lost: {exc}") from None
        response = parse_response(text)
        if response.code == 511:
            self.hung_up = True
            raise AgiHangup(response.raw)
        return response

    async def set_variable(self, name: str, value: str | int) -> None:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_()]*$", name):
            raise ValueError(f"bad channel variable name {name!r}")
        response = await self.command(f"SET VARIABLE {name} {quote(str(value))}")
        if not response.ok:
            raise AgiError(f"SET VARIABLE {name} failed: {response.raw}")

    async def get_variable(self, name: str) -> str | None:
        response = await self.command(f"GET VARIABLE {quote(name)}")
        if not response.ok:
            raise AgiError(f"GET VARIABLE {name} failed: {response.raw}")
        return response.data if response.result == "1" else None

    async def verbose(self, message: str, level: int = 3) -> None:
        await self.command(f"VERBOSE {quote(message)} {level}")


def script_name(path: str) -> str:
    """``agi_network_script`` without leading slashes or query string: ``/route?x=1`` -> ``route``."""
    return path.split("?", 1)[0].strip("/")


class FastAgiServer:
    """Serves FastAGI scripts: ``handlers`` maps a script path (``route``) to an async function."""

    def __init__(
        self, handlers: Mapping[str, AgiHandler], *, host: str = "127.0.0.1", port: int = 4574,
        header_timeout: float = 5.0, command_timeout: float = 5.0, handler_timeout: float = 30.0,
        max_line: int = 8192,
    ) -> None:
        table: dict[str, AgiHandler] = {}
        for name, handler in handlers.items():
            if not _is_async(handler):
                raise TypeError(f"FastAGI handler {name!r} must be an async function (async def), got {handler!r}")
            table[script_name(name)] = handler
        self.handlers: Mapping[str, AgiHandler] = table
        self.host, self.port = host, port
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.handler_timeout = handler_timeout
        self.max_line = max_line
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=self.max_line)
        sock = self._server.sockets[0].getsockname()
        self.port = sock[1]
        log.info("FastAGI listening on %s:%s (%s)", self.host, self.port, ", ".join(sorted(self.handlers)))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _read_headers(self, reader: asyncio.StreamReader, decoder: codecs.IncrementalDecoder) -> dict[str, str]:
        headers: dict[str, str] = {}
        async with asyncio.timeout(self.header_timeout):
            while True:
                raw = await reader.readuntil(b"\n")
                line = decoder.decode(raw).rstrip("\r\n")
                if not line:
                    return headers
                key, sep, value = line.partition(":")
                if not sep or not key.startswith("agi_"):
                    raise AgiError(f"malformed AGI header {line[:80]!r}")
                headers[key.strip()] = value.strip()
                if len(headers) > 200:
                    raise AgiError("too many AGI headers")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        peer = writer.get_extra_info("peername")
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            try:
                headers = await self._read_headers(reader, decoder)
            except asyncio.IncompleteReadError:
                log.info("FastAGI peer %s disconnected before the end of the headers", peer)
                return
            except TimeoutError:
                log.warning("FastAGI peer %s sent no complete header in %g s", peer, self.header_timeout)
                return
            except asyncio.LimitOverrunError:
                log.warning("FastAGI peer %s sent a header line over %d bytes", peer, self.max_line)
                return
            except AgiError as exc:
                log.warning("FastAGI peer %s: %s", peer, exc)
                return
            request = AgiRequest(reader, writer, headers, decoder=decoder, command_timeout=self.command_timeout)
            handler = self.handlers.get(request.script)
            if handler is None:
                log.warning("FastAGI: no script %r (known: %s)", request.script, ", ".join(sorted(self.handlers)))
                return
            try:
                async with asyncio.timeout(self.handler_timeout):
                    await handler(request)
            except AgiHangup as exc:
                log.info("FastAGI %s: channel %s hung up (%s)", request.script, headers.get("agi_channel"), exc)
            except TimeoutError:
                log.error("FastAGI %s: handler took more than %g s", request.script, self.handler_timeout)
            except AgiError as exc:
                log.error("FastAGI %s: %s", request.script, exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("FastAGI %s: handler failed", request.script)
        finally:
            self._sessions.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


def _is_async(handler: Any) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))
