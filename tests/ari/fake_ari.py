"""A fake ARI on aiohttp.web: enough REST and the event WebSocket for the client's unit tests."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web


class FakeAri:
    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/ari/events", self.events)
        self.app.router.add_get("/ari/channels", self.channels)
        self.app.router.add_post("/ari/channels/{id}/answer", self.answer)
        self.app.router.add_get("/ari/slow", self.slow)
        self.sockets: list[web.WebSocketResponse] = []
        self.connects = 0
        self.auth: list[str] = []
        self.live: dict[str, dict[str, Any]] = {}
        self.peers: set[Any] = set()
        self.max_peers = 0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    def _track(self, request: web.Request) -> None:
        self.auth.append(request.headers.get("Authorization", ""))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.add(peer)
        self.max_peers = max(self.max_peers, len(self.peers))

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        self._track(request)
        assert request.query["app"] == "callcore"
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connects += 1
        self.sockets.append(ws)
        async for msg in ws:
            if msg.type == WSMsgType.CLOSE:
                break
        self.sockets.remove(ws)
        return ws

    async def send(self, event: dict[str, Any]) -> None:
        for ws in self.sockets:
            await ws.send_json(event)

    async def drop_sockets(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    async def channels(self, request: web.Request) -> web.Response:
        self._track(request)
        return web.json_response(list(self.live.values()))

    async def answer(self, request: web.Request) -> web.Response:
        self._track(request)
        if request.match_info["id"] not in self.live:
            return web.json_response({"message": "Channel not found"}, status=404)
        return web.Response(status=204)

    async def slow(self, request: web.Request) -> web.Response:
        self._track(request)
        await asyncio.sleep(0.2)
        return web.json_response({})
