"""``callcore run``: the daemon (ARI, AMI, call flows, the journal) and its HTTP API in one process."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from typing import Any

from aiohttp import web
from sqlalchemy import select

from callcore.ami.client import AmiClient
from callcore.api.app import create_app
from callcore.api.services import Services
from callcore.ari.client import AriClient
from callcore.ari.errors import AriError
from callcore.bus import EventBus
from callcore.calls import queries
from callcore.calls import types as ev
from callcore.calls.fallback import FallbackImporter
from callcore.calls.flows import welcome_flow
from callcore.calls.journal import CallJournal
from callcore.calls.models import Call
from callcore.calls.stasis import Flow, StasisApp
from callcore.config import Settings
from callcore.ivr.service import IvrService
from callcore.prompts.system import system_prompts
from callcore.store import migrate
from callcore.store.db import OUTAGE_ERRORS, Database
from callcore.tasks import TaskSet
from callcore.tickets.wiring import auth_chain, background_jobs, setup_tickets

log = logging.getLogger(__name__)

# AMI events ops see in the live stream (agent phones coming and going).
_AMI_STREAMED = frozenset({"ContactStatus", "DeviceStateChange", "PeerStatus"})
# Allocations between young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 10_000


class Daemon:
    def __init__(self, settings: Settings, *, flow: Flow | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.bus = EventBus()
        self.journal = CallJournal(self.db, settings.spool_file, self.bus)
        ast = settings.asterisk
        self.ari = AriClient(
            ast.ari_url, ast.ari_user, ast.ari_password, ast.app,
            pool_size=max(4, min(64, ast.http_session_limit - 8)),
        )
        self.ami = AmiClient(ast, on_event=self._on_ami_event)
        self._flow = flow
        self.stasis: StasisApp | None = None
        self.fallback = FallbackImporter(self.db, self.journal, settings.fallback_mailbox_dir, hotline=settings.asterisk.hotline)
        self.ivr = IvrService.build(settings, self.db)
        self.tasks = TaskSet("daemon")
        self.runner: web.AppRunner | None = None

    # -- wiring ------------------------------------------------------------------------
    async def start(self) -> None:
        self.settings.check_secrets()
        try:
            await migrate.upgrade(self.settings.database_url)
        except OUTAGE_ERRORS as exc:
            # Calls must work without the database: events are spooled until it returns.
            log.error("database unavailable at start (%s); calls go on, events are spooled", exc)
        prompts = await system_prompts(self.settings.sounds_dir)
        # Menus, digit prompts and the routing FastAGI server come up before the first call.
        await self.ivr.start(self.tasks)
        welcome = welcome_flow(prompts)
        flow = self._flow or (self.ivr.flow(fallback=welcome) if self.settings.flow == "ivr" else welcome)
        self.stasis = StasisApp(ari=self.ari, journal=self.journal, flow=flow)
        self.tasks.spawn(self.journal.run(), name="journal")
        self.tasks.spawn(self.ari.run_events(self.stasis.on_event, on_connect=self.reconcile), name="ari-events")
        await self.ami.start()
        services = Services(settings=self.settings, db=self.db, bus=self.bus, journal=self.journal)
        services.health.update(ari=self._ari_ok, ami=self._ami_ok, database=self.db.ping)
        app = create_app(services, auth=auth_chain(services))
        self.ivr.install(app)
        setup_tickets(app, services)
        for job in background_jobs(app):
            self.tasks.spawn(job.run(), name=type(job).__name__)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.api.host, self.settings.api.port, reuse_address=True)
        await site.start()
        log.info("callcore API on http://%s:%d/api/v1", self.settings.api.host, self.settings.api.port)

    async def _ari_ok(self) -> bool:
        return self.ari.connected

    async def _ami_ok(self) -> bool:
        return self.ami.connected

    def _on_ami_event(self, event: dict[str, str]) -> None:
        name = event.get("Event", "")
        if name in _AMI_STREAMED:
            self.bus.publish({"kind": "asterisk", "type": name, "data": {k: v for k, v in event.items() if k != "Event"}})

    # -- reconciliation ----------------------------------------------------------------
    async def reconcile(self) -> None:
        """On every ARI (re)connect: resume parked channels and close calls that ended meanwhile."""
        assert self.stasis is not None
        try:
            channels = await self.ari.list_channels()
        except AriError as exc:
            log.warning("cannot list channels to reconcile: %s", exc)
            return
        stats = await self.stasis.reconcile(channels, self._call_id_of)
        stale = await self._close_stale_calls({c.id for c in channels})
        if stats["resumed"] or stats["vanished"] or stale:
            log.info("reconciled: %d resumed, %d vanished, %d closed from the store", stats["resumed"], stats["vanished"], stale)
        # Messages callers left while the daemon was away (or after it handed them back) become calls.
        await self.fallback.run()

    async def _call_id_of(self, channel_id: str) -> str | None:
        try:
            call = await queries.find_by_channel(self.db, channel_id)
        except OUTAGE_ERRORS:
            return None
        return call.id if call is not None and call.status == "active" else None

    async def _close_stale_calls(self, live: set[str]) -> int:
        """Calls the store still shows active whose channel no longer exists ended while we were away."""
        assert self.stasis is not None
        await self.journal.wait_idle()
        try:
            async with self.db.session() as s:
                rows = (await s.execute(select(Call.id, Call.channel_id).where(Call.status == "active"))).all()
        except OUTAGE_ERRORS:
            return 0
        n = 0
        for call_id, channel_id in rows:
            if channel_id not in live and channel_id not in self.stasis.sessions:
                self.journal.emit(call_id, ev.RECONCILED, {"action": "closed", "reason": "channel ended while the daemon was away"})
                self.journal.emit(call_id, ev.ENDED, {"by": "unknown", "cause": None, "cause_text": "ended while the daemon was away"})
                n += 1
        return n

    # -- shutdown ----------------------------------------------------------------------
    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.stasis is not None:
            ast = self.settings.asterisk
            await self.stasis.shutdown(hand_off_to=("from-trunk", ast.hotline, "fallback"))
        try:
            await asyncio.wait_for(self.journal.wait_idle(), 5)
        except TimeoutError:
            log.warning("journal not drained at shutdown; what is left stays in the spool")
        await self.tasks.cancel_all()
        await self.ivr.stop()
        await self.ari.close()
        await self.ami.close()
        await self.db.close()


def quiet_gc() -> None:
    """Keep the garbage collector's pauses off the calls.

    A full collection walks every object the process holds; after start-up that is mostly modules,
    the ORM's and the menus' long-lived objects, and a walk took 75-160 ms under load: every call
    then waited that long for its next prompt. Frozen, they are left out of every later collection;
    a larger young generation makes the collections fewer (a call's short-lived objects die young).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def serve(settings: Settings, **kw: Any) -> None:
    daemon = Daemon(settings, **kw)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await daemon.start()
    quiet_gc()
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await daemon.stop()
