"""The daemon's one AMI client: a supervised, self-healing session to Asterisk's manager interface.

Modelled on panoramisk 1.4's ``Manager`` (login on connect, reconnect after a drop, Ping keepalive) but
owning the connection layer, because panoramisk gets these wrong: split UTF-8 characters are dropped
(see ``protocol.py``); actions have no timeout; reconnects retry every 2 s forever; a refused Login only
shows as "Connection lost"; a Ping never answered goes unnoticed (half-open TCP); actions in flight at a
drop are re-sent on the next ``FullyBooted`` (an ``Originate`` could ring twice; here they fail with
:class:`AmiNotConnected`); an async ``Originate`` waits for its ``OriginateResponse`` event (up to the
originate timeout; here it returns when queued and the event goes to ``on_event``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Mapping

from callcore.ami.errors import AmiError, AmiLoginRefused, AmiNotConnected, AmiTimeout
from callcore.ami.protocol import AmiProtocol
from callcore.ami.types import AmiMessage, EventHandler
from callcore.config import AsteriskSettings

log = logging.getLogger(__name__)

# Event classes asked for at Login (manager.conf's ``read=`` must grant them too):
#   call   - Newchannel, Hangup, (Soft)HangupRequest, DeviceStateChange (needs res_manager_devicestate.so
#            loaded), Newstate, Dial*, Bridge*
#   system - ContactStatus, PeerStatus, FullyBooted, Shutdown, Reload
#   agent  - QueueMemberStatus, QueueCaller*, AgentCalled/Connect/Complete
# Left out: dialplan (VarSet, Newexten: one event per dialplan step), dtmf, cdr, cel, reporting (RTCP),
# security, user, log, verbose. See Asterisk's manager.conf.sample and the "AMI Events" docs for each class.
EVENT_MASK = "call,system,agent"

# Errors after which the session is retried; anything else is logged with its traceback, then retried.
_RETRY_ERRORS = (OSError, AmiError, TimeoutError)
# An on_event call slower than this is logged: the handler must hand events off, not process them.
_SLOW_HANDLER_SECONDS = 0.05


class AmiClient:
    """A logged-in AMI session kept alive in the background.

    ``start()`` returns at once; the client connects, logs in and, whenever the connection drops or the
    Login is refused, retries with capped exponential backoff until ``close()``.
    """

    # Tunables; tests shorten them on the instance.
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    connect_timeout: float = 5.0
    boot_timeout: float = 30.0
    ping_interval: float = 20.0

    def __init__(
        self,
        settings: AsteriskSettings,
        *,
        on_event: EventHandler | None = None,
        action_timeout: float = 5.0,
    ) -> None:
        if on_event is not None and inspect.iscoroutinefunction(on_event):
            raise TypeError("on_event must be a plain function: it runs inside the reader and must not block")
        self._settings = settings
        self._on_event = on_event
        self._action_timeout = action_timeout
        self._protocol: AmiProtocol | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._address = f"{settings.host}:{settings.ami_port}"

    async def start(self) -> None:
        """Start connecting in the background; never raises if Asterisk is down.

        The session counts as connected once logged in *and* Asterisk reports ``FullyBooted`` (sent at
        Login when booted, else when boot completes): right after a restart, Asterisk accepts a Login
        before its modules (PJSIP, queues) are loaded.
        """
        if self._task is not None:
            raise RuntimeError("AmiClient already started")
        self._task = asyncio.create_task(self._run(), name=f"ami-client {self._address}")

    async def close(self) -> None:
        """Stop reconnecting and close the connection; actions in flight raise AmiNotConnected."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    @property
    def connected(self) -> bool:
        """True while a logged-in session is up."""
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a logged-in session; False if there is none by then."""
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    async def action(self, action: Mapping[str, str], *, timeout: float | None = None) -> list[AmiMessage]:
        """Send an action; return its response, followed by the events of a list response.

        Raises :class:`AmiError` on ``Response: Error``, :class:`AmiTimeout` past ``timeout`` (default:
        the client's ``action_timeout``), :class:`AmiNotConnected` when there is no session or it drops.
        ``ValueError`` for a malformed action (no ``Action``, CR/LF in a value, Login/Logoff).
        """
        if action.get("Action", "").lower() in ("login", "logoff", "challenge"):
            raise ValueError("the AMI client owns the session: no Login, Logoff or Challenge actions")
        protocol = self._protocol
        if protocol is None or not self.connected:
            raise AmiNotConnected(f"no AMI session with {self._address}")
        return await protocol.request(action, timeout=self._action_timeout if timeout is None else timeout)

    async def command(self, cli: str) -> str:
        """Run a CLI command (``Action: Command``) and return its output; AmiError if the CLI refuses it."""
        messages = await self.action({"Action": "Command", "Command": cli})
        return messages[0].get("Output", "")

    # the session

    async def _run(self) -> None:
        delay = self.backoff_initial
        while True:
            level = logging.WARNING
            try:
                await self._session()
            except AmiLoginRefused as exc:
                level = logging.ERROR
                reason = (f"login as {self._settings.ami_user!r} refused ({exc.response.get('Message') or exc}): "
                          "check ami_user/ami_secret against manager.conf")
            except _RETRY_ERRORS as exc:
                reason = f"unavailable ({str(exc) or type(exc).__name__})"
            except Exception:
                log.exception("AMI session with %s failed unexpectedly", self._address)
                reason = "session failed"
            else:
                delay = self.backoff_initial  # the session was up: retry promptly
                reason = "connection lost"
            log.log(level, "AMI %s: %s; reconnecting in %g s", self._address, reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _session(self) -> None:
        """Connect, log in, and keep the session until the connection drops (returns) or fails (raises)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            _, protocol = await loop.create_connection(
                lambda: AmiProtocol(self._dispatch), self._settings.host, self._settings.ami_port
            )
        try:
            async with asyncio.timeout(self.connect_timeout):
                version = await protocol.banner
            if version is None:
                raise AmiNotConnected("connection closed before the AMI banner")
            login = {
                "Action": "Login",
                "Username": self._settings.ami_user,
                "Secret": self._settings.ami_secret,
                "Events": EVENT_MASK,
            }
            try:
                await protocol.request(login, timeout=self._action_timeout)
            except (AmiTimeout, AmiNotConnected):
                raise
            except AmiError as exc:
                raise AmiLoginRefused(str(exc), response=exc.response) from None
            await self._wait_booted(protocol)
            self._protocol = protocol
            self._connected.set()
            log.info("AMI connected to %s (manager protocol %s), events: %s", self._address, version, EVENT_MASK)
            await self._keepalive(protocol)
        finally:
            self._connected.clear()
            self._protocol = None
            protocol.close()
            await asyncio.wait([protocol.closed], timeout=1.0)

    async def _wait_booted(self, protocol: AmiProtocol) -> None:
        await asyncio.wait([protocol.booted, protocol.closed], timeout=self.boot_timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if protocol.closed.done():
            raise AmiNotConnected("connection closed before Asterisk was fully booted")
        if not protocol.booted.done():
            # manager.c sends FullyBooted only to sessions allowed the "system" class (read= in manager.conf).
            log.warning("AMI %s sent no FullyBooted in %g s: is 'system' missing from read= in manager.conf? "
                        "Going on without it", self._address, self.boot_timeout)

    async def _keepalive(self, protocol: AmiProtocol) -> None:
        """Ping every ``ping_interval`` seconds; a Ping without answer drops the (half-open) connection,
        unless other bytes came in meanwhile: then Asterisk is only slow (an overload), and dropping the
        connection would fail every action in flight (a call's recording start among them)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.wait([protocol.closed], timeout=self.ping_interval)
            if protocol.closed.done():
                return
            sent = loop.time()
            try:
                await protocol.request({"Action": "Ping"}, timeout=self._action_timeout)
            except AmiTimeout:
                if protocol.last_received >= sent:
                    log.warning("AMI %s did not answer Ping in %g s but still sends: keeping the connection",
                                self._address, self._action_timeout)
                    continue
                log.warning("AMI %s did not answer Ping in %g s: dropping the connection", self._address,
                            self._action_timeout)
                protocol.abort()
                return
            except AmiNotConnected:
                return

    def _dispatch(self, event: AmiMessage) -> None:
        if self._on_event is None:
            return
        started = time.perf_counter()
        try:
            self._on_event(event)
        except Exception:
            log.exception("AMI on_event handler failed on %s", event.get("Event"))
        elapsed = time.perf_counter() - started
        if elapsed > _SLOW_HANDLER_SECONDS:
            log.warning("AMI on_event handler took %.0f ms on %s: hand events off, do not process them inline",
                        elapsed * 1000, event.get("Event"))
