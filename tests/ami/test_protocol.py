"""AmiProtocol without a network: parsing, encoding, framing limits, response matching."""

from __future__ import annotations

import asyncio

import pytest

from callcore.ami.errors import AmiError, AmiNotConnected
from callcore.ami.protocol import MAX_MESSAGE_CHARS, AmiProtocol, encode_action, parse_message
from callcore.ami.types import AmiMessage


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def connect() -> tuple[AmiProtocol, Transport, list[AmiMessage]]:
    events: list[AmiMessage] = []
    protocol = AmiProtocol(events.append)
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(b"Asterisk Call Manager/5.0.1\r\n")
    return protocol, transport, events


def test_parse_keeps_value_spaces_colons_and_joins_repeated_headers() -> None:
    message = parse_message("Response: Success\r\nOutput: a: b\r\nOutput: \r\nOutput: c\r\nCallerIDName: 张三 \r\njunk")
    assert message == {"Response": "Success", "Output": "a: b\n\nc", "CallerIDName": "张三 "}


def test_encode_puts_action_id_last_and_utf8() -> None:
    assert encode_action({"Action": "Setvar", "Value": "张三"}, "id-1") == (
        "Action: Setvar\r\nValue: 张三\r\nActionID: id-1\r\n\r\n".encode()
    )


async def test_banner_then_messages_in_one_read() -> None:
    events: list[AmiMessage] = []
    protocol = AmiProtocol(events.append)
    protocol.connection_made(Transport())
    protocol.data_received(b"Asterisk Call Manager/5.0.1\r\nEvent: PeerStatus\r\nPeer: PJSIP/1001\r\n\r\nEvent: Ha")
    assert protocol.banner.result() == "5.0.1"
    assert events == [{"Event": "PeerStatus", "Peer": "PJSIP/1001"}]
    protocol.data_received(b"ngup\r\n\r\n")
    assert events[-1] == {"Event": "Hangup"}


async def test_peer_that_is_not_ami_is_dropped() -> None:
    protocol = AmiProtocol(lambda event: None)
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert protocol.banner.result() is None
    assert transport.closing


async def test_unterminated_message_past_the_limit_drops_the_connection() -> None:
    protocol, transport, _ = connect()
    chunk = b"Event: X\r\nData: " + b"x" * 65536
    for _ in range(MAX_MESSAGE_CHARS // 65536 + 1):
        protocol.data_received(chunk)
    assert transport.closing


async def test_event_with_action_id_before_response_goes_to_on_event() -> None:
    protocol, transport, events = connect()
    request = asyncio.create_task(protocol.request({"Action": "Originate", "Async": "true"}, timeout=2))
    await asyncio.sleep(0)
    action_id = transport.written.decode().split("ActionID: ")[1].split("\r\n")[0]
    protocol.data_received(f"Event: Newchannel\r\nActionID: {action_id}\r\n\r\n".encode())
    protocol.data_received(f"Response: Success\r\nActionID: {action_id}\r\nMessage: queued\r\n\r\n".encode())
    assert (await request)[0]["Message"] == "queued"
    # Originate's later OriginateResponse event is an event, not part of the (completed) action.
    protocol.data_received(f"Event: OriginateResponse\r\nActionID: {action_id}\r\nResponse: Failure\r\n\r\n".encode())
    assert [e["Event"] for e in events] == ["Newchannel", "OriginateResponse"]


async def test_error_response_raises_and_lost_connection_fails_pending() -> None:
    protocol, transport, _ = connect()
    request = asyncio.create_task(protocol.request({"Action": "Nope"}, timeout=2))
    await asyncio.sleep(0)
    action_id = transport.written.decode().split("ActionID: ")[1].split("\r\n")[0]
    protocol.data_received(f"Response: Error\r\nActionID: {action_id}\r\nMessage: Invalid\r\n\r\n".encode())
    with pytest.raises(AmiError, match="AMI action Nope failed: Invalid"):
        await request
    pending = asyncio.create_task(protocol.request({"Action": "Status"}, timeout=2))
    await asyncio.sleep(0)
    protocol.connection_lost(None)
    with pytest.raises(AmiNotConnected):
        await pending
    with pytest.raises(AmiNotConnected):
        await protocol.request({"Action": "Ping"}, timeout=2)
    assert protocol.closed.done()
