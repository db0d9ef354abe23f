from __future__ import annotations

import asyncio
import logging

import pytest

from callcore.agi.server import AgiError, AgiRequest, FastAgiServer, parse_response, quote

from tests.agi.fake_asterisk import HEADERS, FakeAsterisk, header_bytes


async def test_dispatches_by_script_and_sets_variables() -> None:
    seen: list[AgiRequest] = []

    async def route(req: AgiRequest) -> None:
        seen.append(req)
        await req.set_variable("CALLCORE_ROUTE", "normal")
        await req.set_variable("CALLCORE_NOTE", 'say "hi" \\ 你好')

    async with FastAgiServer({"route": route}, port=0) as server:
        fake = FakeAsterisk(server.port)
        await fake.run({"agi_network_script": "/route?x=1", "agi_arg_1": "a", "agi_arg_2": "b"})
    assert seen[0].script == "route" and seen[0].args == ["a", "b"] and seen[0].caller_number == "13800138000"
    assert fake.commands == ['SET VARIABLE CALLCORE_ROUTE "normal"', 'SET VARIABLE CALLCORE_NOTE "say \\"hi\\" \\\\ 你好"']


async def test_client_disconnecting_mid_header_does_not_freeze_the_server(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def route(req: AgiRequest) -> None:
        nonlocal calls
        calls += 1
        await req.set_variable("CALLCORE_ROUTE", "normal")

    caplog.set_level(logging.INFO, logger="callcore.agi.server")
    async with FastAgiServer({"route": route}, port=0, header_timeout=30) as server:
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"agi_network: yes\nagi_network_script: ro")  # no end of line, no blank line
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        # The server still serves a well-behaved peer at once.
        fake = FakeAsterisk(server.port)
        await asyncio.wait_for(fake.run(), 2)
        await asyncio.sleep(0.05)
        assert not server._sessions
    assert calls == 1 and fake.variables == {"CALLCORE_ROUTE": "normal"}
    assert "disconnected before the end of the headers" in caplog.text


async def test_silent_client_times_out() -> None:
    async def route(req: AgiRequest) -> None:
        raise AssertionError("not reached")

    async with FastAgiServer({"route": route}, port=0, header_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network: yes\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""  # the server hung up on us
        writer.close()
        await writer.wait_closed()


async def test_chinese_caller_name_split_across_reads_decodes_whole() -> None:
    names: list[str] = []

    async def route(req: AgiRequest) -> None:
        names.append(req.caller_name)
        names.append(req.headers["agi_arg_1"])

    name = "欧阳娜娜·市民热线"
    data = header_bytes({**HEADERS, "agi_calleridname": name, "agi_arg_1": "测试"})
    cut = data.index(name.encode("utf-8")) + 1  # inside the first character's three bytes
    async with FastAgiServer({"route": route}, port=0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for piece in (data[:cut], data[cut:cut + 2], data[cut + 2:]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.02)
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
        await writer.wait_closed()
    assert names == [name, "测试"]
    # Byte by byte too.
    async with FastAgiServer({"route": route}, port=0) as server:
        await FakeAsterisk(server.port).run({"agi_calleridname": name, "agi_arg_1": "测试"}, chunk=1)
    assert names[-2] == name


async def test_malformed_utf8_is_replaced_not_dropped() -> None:
    names: list[str] = []

    async def route(req: AgiRequest) -> None:
        names.append(req.caller_name)

    async with FastAgiServer({"route": route}, port=0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network_script: route\nagi_calleridname: \xd5\xc5\xc8\xfd\n\n")  # GBK, not UTF-8
        await writer.drain()
        await asyncio.wait_for(reader.read(), 2)
        writer.close()
        await writer.wait_closed()
    assert names and "\ufffd" in names[0]


def test_plain_handler_is_refused_clearly() -> None:
    def route(req: AgiRequest) -> None:
        pass

    with pytest.raises(TypeError, match="'route' must be an async function"):
        FastAgiServer({"route": route})  # type: ignore[dict-item]


async def test_async_callable_object_is_accepted() -> None:
    class Script:
        async def __call__(self, req: AgiRequest) -> None:
            await req.set_variable("X", "1")

    async with FastAgiServer({"/route": Script()}, port=0) as server:
        fake = FakeAsterisk(server.port)
        await fake.run()
    assert fake.variables == {"X": "1"}


async def test_command_timeout_and_hangup(caplog: pytest.LogCaptureFixture) -> None:
    outcome: list[str] = []

    async def route(req: AgiRequest) -> None:
        try:
            await req.command("GET VARIABLE \"X\"", timeout=0.2)
        except AgiError as exc:
            outcome.append(type(exc).__name__)
            raise

    async def silent_peer(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(header_bytes(HEADERS))
        await writer.drain()
        await reader.readline()  # read the command, never answer
        await asyncio.wait_for(reader.read(), 2)
        writer.close()
        await writer.wait_closed()

    async with FastAgiServer({"route": route}, port=0) as server:
        await silent_peer(server.port)
        fake = FakeAsterisk(server.port, answer=lambda line: "HANGUP\n511 Command Not Permitted on a dead channel")
        await fake.run()
    assert outcome == ["AgiError", "AgiHangup"]


async def test_unknown_script_closes() -> None:
    async def route(req: AgiRequest) -> None:
        raise AssertionError("not reached")

    async with FastAgiServer({"route": route}, port=0) as server:
        fake = FakeAsterisk(server.port)
        assert await fake.run({"agi_network_script": "nope"}) == []


def test_parse_and_quote() -> None:
    r = parse_response("200 result=1 (他说 (你好))")
    assert (r.code, r.result, r.data, r.ok) == (200, "1", "他说 (你好)", True)
    assert parse_response("200 result=0").data == ""
    assert parse_response("510 Invalid or unknown command").code == 510
    with pytest.raises(AgiError):
        parse_response("garbage")
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c d"'
