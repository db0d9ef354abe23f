"""A fake Asterisk AGI peer: sends headers (in as many pieces as asked) and answers commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

HEADERS = {
    "agi_network": "yes",
    "agi_network_script": "route",
    "agi_request": "agi://127.0.0.1/route",
    "agi_channel": "PJSIP/trunk-00000001",
    "agi_language": "zh",
    "agi_uniqueid": "1700000000.1",
    "agi_callerid": "13800138000",
    "agi_calleridname": "张三",
    "agi_dnid": "96881",
    "agi_extension": "96881",
}


def header_bytes(headers: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\n" for k, v in headers.items()).encode("utf-8") + b"\n"


class FakeAsterisk:
    """Connects to the server, plays the channel side; ``answer`` maps a command line to its response."""

    def __init__(self, port: int, answer: Callable[[str], str] | None = None) -> None:
        self.port = port
        self.answer = answer or (lambda line: "200 result=1")
        self.commands: list[str] = []
        self.variables: dict[str, str] = {}

    async def run(self, headers: dict[str, str] | None = None, *, chunk: int | None = None) -> list[str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        data = header_bytes({**HEADERS, **(headers or {})})
        pieces = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            if chunk is not None:
                await asyncio.sleep(0.002)
        try:
            while True:
                raw = await asyncio.wait_for(reader.readline(), 5)
                if not raw:
                    break
                line = raw.decode("utf-8").rstrip("\n")
                self.commands.append(line)
                if line.startswith("SET VARIABLE "):
                    name, _, value = line[len("SET VARIABLE "):].partition(" ")
                    self.variables[name] = value.strip('"')
                writer.write((self.answer(line) + "\n").encode("utf-8"))
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()
        return self.commands
