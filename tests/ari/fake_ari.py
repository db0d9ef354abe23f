"""A fake ARI on aiohttp.web: the REST calls the client, the call sessions and the Stasis app make,
and the event WebSocket.

Every request is recorded (``requests``, ``sent``) so tests can assert on what was asked of Asterisk;
``refuse`` makes a route answer an error status and ``stall`` makes it never answer (the client's
timeout, i.e. an Asterisk that does not answer), for a number of times or for good. Channels live in
``live`` (``add_channel`` builds one as ARI describes it): a hangup removes the channel, a
``continue`` takes it out of the Stasis app. The fake sends no events by itself.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    # Relative to the ARI root, as the client names it: "channels/c1/continue".
    path: str
    params: dict[str, str]


@dataclass(slots=True)
class _Fault:
    status: int  # 0: stall (never answer)
    times: int | None  # None: every time


class FakeAri:
    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._middleware])
        r = self.app.router
        r.add_get("/ari/events", self.events)
        r.add_get("/ari/channels", self.channels)
        r.add_get("/ari/channels/{id}", self.get_channel)
        r.add_delete("/ari/channels/{id}", self.hangup)
        r.add_post("/ari/channels/{id}/answer", self.answer)
        r.add_post("/ari/channels/{id}/continue", self.continue_in_dialplan)
        r.add_post("/ari/channels/{id}/play", self.play)
        r.add_post("/ari/channels/{id}/play/{playback_id}", self.play)
        r.add_post("/ari/channels/{id}/silence", self.silence)
        r.add_get("/ari/channels/{id}/variable", self.get_variable)
        r.add_post("/ari/channels/{id}/variable", self.set_variable)
        r.add_delete("/ari/playbacks/{id}", self.stop_playback)
        r.add_get("/ari/asterisk/info", self.asterisk_info)
        r.add_get("/ari/slow", self.slow)
        self.sockets: list[web.WebSocketResponse] = []
        self.connects = 0
        self.auth: list[str] = []
        self.live: dict[str, dict[str, Any]] = {}
        self.playbacks: dict[str, dict[str, Any]] = {}
        self.variables: dict[tuple[str, str], str] = {}
        self.requests: list[Request] = []
        self.peers: set[Any] = set()
        self.max_peers = 0
        self.runner: web.AppRunner | None = None
        self.port = 0
        self._faults: dict[tuple[str, str], _Fault] = {}
        self._release = asyncio.Event()

    async def start(self, port: int = 0) -> None:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        self._release.set()  # stalled requests end now, not at the server's shutdown timeout
        for ws in list(self.sockets):
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    # -- what tests set up and look at ---------------------------------------------------
    def add_channel(
        self, channel_id: str, *, state: str = "Up", number: str = "13800138000", name: str = "张三",
        app_data: str = "callcore,inbound", app_name: str = "Stasis", exten: str = "96881", context: str = "from-trunk",
    ) -> dict[str, Any]:
        """A channel as ARI describes it (``GET /channels``, a StasisStart's ``channel``), now live."""
        channel = {
            "id": channel_id, "name": f"PJSIP/citizen-trunk-{channel_id}", "state": state,
            "caller": {"number": number, "name": name}, "connected": {"number": "", "name": ""},
            "dialplan": {"context": context, "exten": exten, "priority": 3, "app_name": app_name, "app_data": app_data},
            "creationtime": "2026-11-24T02:00:00.000+0000", "language": "zh",
        }
        self.live[channel_id] = channel
        return channel

    def refuse(self, method: str, path: str, status: int = 503, *, times: int | None = 1) -> None:
        """``method path`` (``"DELETE", "channels/c1"``) answers ``status`` the next ``times`` times (None: always)."""
        self._faults[(method.upper(), path.strip("/"))] = _Fault(status, times)

    def stall(self, method: str, path: str, *, times: int | None = 1) -> None:
        """``method path`` gets no answer (until the fake stops) the next ``times`` times (None: always)."""
        self._faults[(method.upper(), path.strip("/"))] = _Fault(0, times)

    def sent(self, method: str, path: str | None = None) -> list[Request]:
        """The requests made with ``method`` (to ``path``, when given), in order."""
        return [r for r in self.requests if r.method == method.upper() and (path is None or r.path == path.strip("/"))]

    # -- plumbing --------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self._track(request)
        path = request.path.removeprefix("/ari").strip("/")
        self.requests.append(Request(request.method, path, dict(request.query)))
        fault = self._faults.get((request.method, path))
        if fault is not None and fault.times != 0:
            if fault.times is not None:
                fault.times -= 1
            if fault.status == 0:
                await self._release.wait()
                return web.Response(status=204)
            return web.json_response({"message": f"refused by the test ({fault.status})"}, status=fault.status)
        return await handler(request)

    def _track(self, request: web.Request) -> None:
        self.auth.append(request.headers.get("Authorization", ""))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.add(peer)
        self.max_peers = max(self.max_peers, len(self.peers))

    def _channel(self, request: web.Request) -> dict[str, Any] | None:
        return self.live.get(request.match_info["id"])

    @staticmethod
    def _not_found(what: str = "Channel") -> web.Response:
        return web.json_response({"message": f"{what} not found"}, status=404)

    # -- events ----------------------------------------------------------------------------
    async def events(self, request: web.Request) -> web.WebSocketResponse:
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

    # -- channels --------------------------------------------------------------------------
    async def channels(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.live.values()))

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return self._not_found() if channel is None else web.json_response(channel)

    async def answer(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self._not_found()
        channel["state"] = "Up"
        return web.Response(status=204)

    async def hangup(self, request: web.Request) -> web.Response:
        if self.live.pop(request.match_info["id"], None) is None:
            return self._not_found()
        return web.Response(status=204)

    async def continue_in_dialplan(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self._not_found()
        plan = channel["dialplan"]
        q = request.query
        # The channel leaves the Stasis app for the dialplan.
        plan.update(context=q.get("context", plan["context"]), exten=q.get("extension", plan["exten"]),
                    app_name="", app_data="")
        return web.Response(status=204)

    async def play(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self._not_found()
        playback_id = request.match_info.get("playback_id") or str(uuid.uuid4())
        playback = {"id": playback_id, "media_uri": request.query.get("media", ""), "state": "queued",
                    "target_uri": f"channel:{channel['id']}", "language": request.query.get("lang", "en")}
        self.playbacks[playback_id] = playback
        return web.json_response(playback, status=201)

    async def silence(self, request: web.Request) -> web.Response:
        return self._not_found() if self._channel(request) is None else web.Response(status=204)

    async def get_variable(self, request: web.Request) -> web.Response:
        if self._channel(request) is None:
            return self._not_found()
        key = (request.match_info["id"], request.query.get("variable", ""))
        if key not in self.variables:
            return self._not_found("Variable")
        return web.json_response({"value": self.variables[key]})

    async def set_variable(self, request: web.Request) -> web.Response:
        if self._channel(request) is None:
            return self._not_found()
        self.variables[(request.match_info["id"], request.query.get("variable", ""))] = request.query.get("value", "")
        return web.Response(status=204)

    # -- playbacks, misc -------------------------------------------------------------------
    async def stop_playback(self, request: web.Request) -> web.Response:
        if self.playbacks.pop(request.match_info["id"], None) is None:
            return self._not_found("Playback")
        return web.Response(status=204)

    async def asterisk_info(self, request: web.Request) -> web.Response:
        return web.json_response({"system": {"version": "16.30.0"}})

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.json_response({})
