"""One AMI connection: framing, UTF-8 decoding, parsing, and matching responses to actions by ActionID.

Replaces panoramisk's ``AMIProtocol`` (1.4), whose ``data_received`` decodes every TCP chunk on its own
with ``errors='ignore'``: a caller name such as 张三 split across two reads loses its characters.
Here one incremental UTF-8 decoder lives as long as the connection.

Wire format (Asterisk ``main/manager.c``): after a banner line ``Asterisk Call Manager/<version>\\r\\n``,
each message is ``Key: value\\r\\n`` lines closed by an empty line. An action's response carries its
``ActionID``; list actions answer ``EventList: start`` and send events with the same ActionID until one
carrying ``EventList: Complete``.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import cast

from callcore.ami.errors import AmiError, AmiNotConnected, AmiTimeout
from callcore.ami.types import AmiMessage

log = logging.getLogger(__name__)

EOL = "\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
# A message longer than this without its closing empty line is not AMI: drop the connection.
MAX_MESSAGE_CHARS = 4 * 1024 * 1024
_ERROR_RESPONSES = frozenset({"error", "fail", "failure"})


def parse_message(frame: str) -> AmiMessage:
    """Parse one message (without its closing empty line) into headers; repeated keys join with "\\n"."""
    message: AmiMessage = {}
    for line in frame.split(EOL):
        key, sep, value = line.partition(":")
        if not sep or not key:
            continue
        # Asterisk writes "Key: value"; keep the value's own spaces (a caller name may end with one).
        value = value[1:] if value.startswith(" ") else value
        message[key] = f"{message[key]}\n{value}" if key in message else value
    return message


def encode_action(action: Mapping[str, str], action_id: str) -> bytes:
    """Serialize an action; refuses CR/LF in keys or values, which would inject headers or actions."""
    if "Action" not in action:
        raise ValueError("an AMI action needs an 'Action' header")
    lines = []
    for key, value in action.items():
        if key.lower() == "actionid":
            raise ValueError("ActionID is assigned by the client")
        if not key or ":" in key or any(c in key or c in value for c in "\r\n"):
            raise ValueError(f"AMI header {key!r} has a forbidden character (CR, LF, or ':' in the key)")
        lines.append(f"{key}: {value}{EOL}")
    lines.append(f"ActionID: {action_id}{EOL}{EOL}")
    return "".join(lines).encode("utf-8")


class _Pending:
    """An action waiting for its response, and for the events of a list response."""

    __slots__ = ("future", "messages", "is_list")

    def __init__(self, future: asyncio.Future[list[AmiMessage]]) -> None:
        self.future = future
        self.messages: list[AmiMessage] = []
        self.is_list = False

    def accepts(self, message: AmiMessage) -> bool:
        # An event carrying our ActionID before the response is not part of it (it goes to on_event).
        return bool(self.messages) or "Response" in message

    def add(self, message: AmiMessage) -> bool:
        """Record a message; True when the action is complete."""
        self.messages.append(message)
        if len(self.messages) == 1:
            self.is_list = message.get("EventList", "").lower() == "start"
            return not self.is_list
        return message.get("EventList", "").lower() == "complete"


class AmiProtocol(asyncio.Protocol):
    """One TCP connection to Asterisk's manager interface.

    ``banner`` resolves to the protocol version (``None`` if the connection closed first); ``booted``
    when a ``FullyBooted`` event arrives; ``closed`` when the connection is gone. Events go to
    ``on_event``; responses to :meth:`request`.
    """

    def __init__(self, on_event: Callable[[AmiMessage], None]) -> None:
        loop = asyncio.get_running_loop()
        self.banner: asyncio.Future[str | None] = loop.create_future()
        self.booted: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._on_event = on_event
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending: dict[str, _Pending] = {}
        self._transport: asyncio.Transport | None = None
        self._ids = itertools.count(1)
        self._id_prefix = f"cc-{uuid.uuid4().hex[:8]}-"
        # When bytes last came in (the loop's clock): a connection that still carries events is alive,
        # even when Asterisk is too busy to answer a Ping in time.
        self.last_received = loop.time()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always an ``asyncio.Transport`` subclass (uvloop's is not).
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.last_received = asyncio.get_running_loop().time()
        self._buffer += self._decoder.decode(data)
        if not self.banner.done() and not self._read_banner():
            return
        *frames, self._buffer = self._buffer.split(EOL + EOL)
        for frame in frames:
            message = parse_message(frame)
            if message:
                self._dispatch(message)
        if len(self._buffer) > MAX_MESSAGE_CHARS:
            log.error("AMI message over %d characters without its end: dropping the connection", MAX_MESSAGE_CHARS)
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.banner.done():
            self.banner.set_result(None)
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if not entry.future.done():
                entry.future.set_exception(AmiNotConnected("AMI connection lost before the response"))
        if not self.closed.done():
            self.closed.set_result(None)

    # API

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def request(self, action: Mapping[str, str], *, timeout: float) -> list[AmiMessage]:
        """Send an action and return its response, then the events of a list response.

        Raises :class:`AmiError` on ``Response: Error``, :class:`AmiTimeout` when the response is not
        complete within ``timeout`` seconds, :class:`AmiNotConnected` when the connection is or goes down.
        """
        action_id = f"{self._id_prefix}{next(self._ids)}"
        payload = encode_action(action, action_id)
        if self._transport is None or self._transport.is_closing():
            raise AmiNotConnected("AMI connection is closed")
        future: asyncio.Future[list[AmiMessage]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future)
        name = action["Action"]
        try:
            self._transport.write(payload)
            async with asyncio.timeout(timeout):
                messages = await future
        except TimeoutError:
            raise AmiTimeout(f"AMI action {name} got no complete response in {timeout:g} s") from None
        finally:
            # A late response to a forgotten action is dropped by _dispatch.
            self._pending.pop(action_id, None)
        response = messages[0]
        if response.get("Response", "").lower() in _ERROR_RESPONSES:
            detail = response.get("Message", "")
            if "Output" in response:  # Action: Command puts the CLI's complaint there
                detail = f"{detail}: {response['Output']}" if detail else response["Output"]
            raise AmiError(f"AMI action {name} failed: {detail}", response=response)
        return messages

    # internals

    def _read_banner(self) -> bool:
        line, sep, rest = self._buffer.partition(EOL)
        if not sep:
            if len(self._buffer) > 256:
                self.banner.set_result(None)
                log.error("peer sent no AMI banner: %r", self._buffer[:80])
                self.abort()
            return False
        if not line.startswith(BANNER_PREFIX):
            self.banner.set_result(None)
            log.error("peer is not an Asterisk manager interface; its banner: %r", line[:80])
            self.abort()
            return False
        self._buffer = rest
        self.banner.set_result(line[len(BANNER_PREFIX):].strip())
        return True

    def _dispatch(self, message: AmiMessage) -> None:
        action_id = message.get("ActionID", "")
        entry = self._pending.get(action_id)
        if entry is not None and entry.accepts(message):
            if entry.add(message):
                del self._pending[action_id]
                if not entry.future.done():
                    entry.future.set_result(entry.messages)
            return
        if "Event" in message:
            if message["Event"] == "FullyBooted" and not self.booted.done():
                self.booted.set_result(None)
            self._on_event(message)
        elif "Response" in message:
            log.debug("dropping AMI response to no waiting action: ActionID %s", action_id)
