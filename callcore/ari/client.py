"""ARI REST calls through one bounded connection pool, and the event WebSocket.

Asterisk's HTTP server refuses sessions beyond ``sessionlimit`` (http.conf); one pooled
``aiohttp.ClientSession`` keeps the client below it however many calls are in progress.
The WebSocket reconnects with capped backoff; ``on_connect`` runs after every (re)connect so
the daemon can reconcile channels left parked in its Stasis app while it was away.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from callcore.ari.errors import AriConflict, AriError, AriNotFound, AriUnavailable
from callcore.ari.models import Channel
from callcore.core.tasks import TaskSet

log = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any]], None]
ConnectHook = Callable[[], Coroutine[Any, Any, None]]
RETRYABLE = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


# HTTP answers that mean "not now" rather than "no": the request may succeed when retried.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})

class AriClient:
    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        pool_size: int = 64,
        timeout: float = 5.0,
        backoff_cap: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        # HTTP Basic by hand: aiohttp.BasicAuth is deprecated and its replacement is recent.
        self._headers = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        self._pool_size = pool_size
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 3.0))
        self._backoff_cap = backoff_cap
        self._session: aiohttp.ClientSession | None = None
        self._connected = asyncio.Event()
        self._hooks = TaskSet("ari-connect")
        self.reconnects = 0

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=30)
            # ARI sets no cookies; the default jar's per-request filtering was a third of a request's CPU.
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers, timeout=self._timeout,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def close(self) -> None:
        await self._hooks.cancel_all()
        if self._session is not None:
            await self._session.close()
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            return True
        except TimeoutError:
            return False

    # -- REST --------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"
        clean = {k: ("true" if v is True else "false" if v is False else v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.session.request(method, url, params=clean, json=body) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    try:
                        message = json.loads(text).get("message", text)
                    except ValueError:
                        message = text
                    if resp.status in UNAVAILABLE_STATUSES:
                        # Asterisk's HTTP server is overloaded or shutting down: worth another try.
                        raise AriUnavailable(f"{resp.status} {message}", method=method, path=path)
                    cls = {404: AriNotFound, 409: AriConflict}.get(resp.status, AriError)
                    raise cls(resp.status, message, method=method, path=path)
                return json.loads(text) if text else None
        except RETRYABLE as exc:
            raise AriUnavailable(f"{type(exc).__name__}: {exc}", method=method, path=path) from exc

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"channels/{channel_id}", params={"reason": reason})

    async def play(self, channel_id: str, media: list[str] | str, *, playback_id: str | None = None, lang: str | None = None) -> dict[str, Any]:
        media_param = ",".join(media) if isinstance(media, list) else media
        path = f"channels/{channel_id}/play/{playback_id}" if playback_id else f"channels/{channel_id}/play"
        result: dict[str, Any] = await self.request("POST", path, params={"media": media_param, "lang": lang})
        return result

    async def start_silence(self, channel_id: str) -> None:
        await self.request("POST", f"channels/{channel_id}/silence")

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"playbacks/{playback_id}")

    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(c) for c in await self.request("GET", "channels") or []]

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self.request("GET", f"channels/{channel_id}"))

    async def get_variable(self, channel_id: str, name: str) -> str:
        result = await self.request("GET", f"channels/{channel_id}/variable", params={"variable": name})
        return str((result or {}).get("value", ""))

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request("POST", f"channels/{channel_id}/variable", params={"variable": name, "value": value})

    async def continue_in_dialplan(self, channel_id: str, *, context: str | None = None, extension: str | None = None, priority: int | None = None, label: str | None = None) -> None:
        await self.request(
            "POST", f"channels/{channel_id}/continue",
            params={"context": context, "extension": extension, "priority": priority, "label": label},
        )

    async def originate(
        self, endpoint: str, *, channel_id: str, app_args: str, caller_id: str = "", timeout: int = 30,
        originator: str | None = None, variables: dict[str, str] | None = None,
    ) -> Channel:
        """Dials ``endpoint`` (e.g. ``PJSIP/1001``); the channel enters this app only when answered,
        while its ringing, refusal or timeout arrive as events for ``channel_id`` (chosen by the caller
        of this method, so those events can be routed before the request even returns)."""
        result = await self.request(
            "POST", "channels",
            params={"endpoint": endpoint, "app": self.app, "appArgs": app_args, "channelId": channel_id,
                    "callerId": caller_id or None, "timeout": timeout, "originator": originator},
            body={"variables": variables} if variables else None,
        )
        return Channel.from_json(result or {})

    async def start_moh(self, channel_id: str, moh_class: str = "default") -> None:
        await self.request("POST", f"channels/{channel_id}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"channels/{channel_id}/moh")

    async def create_bridge(self, bridge_id: str, *, kind: str = "mixing", name: str = "") -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            "POST", f"bridges/{bridge_id}", params={"type": kind, "name": name or None})
        return result

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request("POST", f"bridges/{bridge_id}/addChannel", params={"channel": ",".join(channel_ids)})

    async def get_bridge(self, bridge_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", f"bridges/{bridge_id}")
        return result

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"bridges/{bridge_id}")

    async def record_channel(self, channel_id: str, name: str, *, fmt: str = "wav", if_exists: str = "fail",
                             beep: bool = False, terminate_on: str = "none", max_duration: int | None = None,
                             max_silence: int | None = None) -> dict[str, Any]:
        """Records what the caller on ``channel_id`` says into Asterisk's recording directory as
        ``name``.``fmt``; returns the LiveRecording. It ends on ``terminate_on`` (a DTMF key, ``any``
        or ``none``), after ``max_silence`` seconds of silence, at ``max_duration``, or with the channel;
        ``RecordingFinished``/``RecordingFailed`` follow with ``target_uri`` ``channel:<id>`` (ARI
        Channels REST API, ``POST /channels/{channelId}/record``)."""
        result: dict[str, Any] = await self.request(
            "POST", f"channels/{channel_id}/record",
            params={"name": name, "format": fmt, "ifExists": if_exists, "beep": beep, "terminateOn": terminate_on,
                    "maxDurationSeconds": max_duration, "maxSilenceSeconds": max_silence})
        return result

    async def get_stored_recording(self, name: str) -> dict[str, Any]:
        """A finished recording in Asterisk's recording directory (name and format); 404 if there is none."""
        result: dict[str, Any] = await self.request("GET", f"recordings/stored/{name}")
        return result

    async def asterisk_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await self.request("GET", "asterisk/info")
        return info

    # -- events ------------------------------------------------------------------------
    async def run_events(self, on_event: EventHandler, on_connect: ConnectHook | None = None) -> None:
        """Reads the app's events until cancelled, reconnecting with capped backoff.

        ``on_event`` runs on the reader: it must only hand work off (Asterisk drops a WebSocket
        reader that stalls), never await I/O.
        """
        delay = 0.2
        url = f"{self.base_url}/events"
        while True:
            try:
                async with self.session.ws_connect(
                    url, params={"app": self.app, "subscribeAll": "false"}, heartbeat=15, timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                    max_msg_size=16 * 1024 * 1024,
                ) as ws:
                    self._connected.set()
                    log.info("ARI connected: app %s at %s", self.app, self.base_url)
                    delay = 0.2
                    if on_connect is not None:
                        self._hooks.spawn(on_connect(), name="ari-on-connect")
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            try:
                                event = json.loads(msg.data)
                            except ValueError:
                                log.error("ARI sent a frame that is not JSON: %.200s", msg.data)
                                continue
                            on_event(event)
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE):
                            break
            except asyncio.CancelledError:
                self._connected.clear()
                raise
            except aiohttp.WSServerHandshakeError as exc:
                log.warning("ARI refused the event socket (%s)", exc.status)
            except RETRYABLE as exc:
                log.debug("ARI event socket error: %s", exc)
            if self._connected.is_set():
                self._connected.clear()
                self.reconnects += 1
                log.warning("ARI disconnected")
            log.info("ARI reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_cap)

