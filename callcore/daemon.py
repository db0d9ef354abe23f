"""``callcore run``: the daemon (ARI, AMI, the capabilities' plugins) and its HTTP API in one process.

The daemon owns what is not a capability: the context, the protocol clients, the migrations and
the HTTP server. Everything else comes from the plugins of ``callcore.plugins``, wired here once:
their services, routes, Stasis flows, AMI handlers, periodic jobs and authenticators.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections import defaultdict
from collections.abc import Sequence

from aiohttp import web

from callcore.ami.client import AmiClient
from callcore.api.app import create_app
from callcore.api.auth import AuthChain, StaticTokenAuth
from callcore.ari.client import AriClient
from callcore.calls.journal import CallJournal
from callcore.calls.reconcile import Reconciler
from callcore.calls.stasis import StasisApp
from callcore.config import Settings
from callcore.core.context import AppContext
from callcore.plugin import AmiHandler, Plugin
from callcore.plugins import plugin_classes
from callcore.store import migrate
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

# Allocations between young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 10_000


def build_plugins(ctx: AppContext, classes: Sequence[type[Plugin]] | None = None) -> list[Plugin]:
    """Instantiates and builds each plugin in order (no I/O)."""
    plugins = [cls(ctx) for cls in (plugin_classes() if classes is None else classes)]
    for plugin in plugins:
        plugin.build()
    return plugins


def build_app(ctx: AppContext, plugins: Sequence[Plugin]) -> web.Application:
    """The HTTP application: every plugin's routers; the admin token, then the plugins' authenticators."""
    auth = AuthChain(StaticTokenAuth(ctx.settings.api.token), *(a for p in plugins for a in p.authenticators()))
    return create_app(ctx, routers=[r for p in plugins for r in p.routers()], auth=auth)


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx = AppContext(settings=settings, db=Database(settings.database_url))
        ast = settings.asterisk
        self.ari = self.ctx.provide(AriClient(
            ast.ari_url, ast.ari_user, ast.ari_password, ast.app,
            pool_size=max(4, min(64, ast.http_session_limit - 8)),
        ))
        self.ami = self.ctx.provide(AmiClient(ast, on_event=self._on_ami_event))
        self._ami_handlers: dict[str, list[AmiHandler]] = defaultdict(list)
        self.plugins = build_plugins(self.ctx)
        for plugin in self.plugins:
            for name, handler in plugin.ami_handlers().items():
                self._ami_handlers[name].append(handler)
        self.runner: web.AppRunner | None = None

    @property
    def journal(self) -> CallJournal:
        return self.ctx.get(CallJournal)

    # -- wiring ------------------------------------------------------------------------
    async def start(self) -> None:
        self.settings.check_secrets()
        try:
            await migrate.upgrade(self.settings.database_url)
        except OUTAGE_ERRORS as exc:
            # Calls must work without the database: events are spooled until it returns.
            log.error("database unavailable at start (%s); calls go on, events are spooled", exc)
        for plugin in self.plugins:
            await plugin.start()
        stasis = self.ctx.get(StasisApp)
        for plugin in self.plugins:
            for kind, flow in plugin.stasis_handlers().items():
                stasis.handle(kind, flow)
        # Every flow is in place before the first call can arrive.
        tasks = self.ctx.tasks
        tasks.spawn(self.ari.run_events(stasis.on_event, on_connect=self.ctx.get(Reconciler)), name="ari-events")
        await self.ami.start()
        self.ctx.health.update(ari=self._ari_ok, ami=self._ami_ok, database=self.ctx.db.ping)
        for plugin in self.plugins:
            for job in plugin.jobs():
                tasks.spawn(job.run(), name=job.name)
        self.runner = web.AppRunner(build_app(self.ctx, self.plugins), access_log=None, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.api.host, self.settings.api.port, reuse_address=True)
        await site.start()
        log.info("callcore API on http://%s:%d/api/v1", self.settings.api.host, self.settings.api.port)

    async def _ari_ok(self) -> bool:
        return self.ari.connected

    async def _ami_ok(self) -> bool:
        return self.ami.connected

    def _on_ami_event(self, event: dict[str, str]) -> None:
        for handler in self._ami_handlers.get(event.get("Event", ""), ()):
            handler(event)

    # -- shutdown ----------------------------------------------------------------------
    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        for plugin in reversed(self.plugins):
            await plugin.stop()
        try:
            await asyncio.wait_for(self.journal.wait_idle(), 5)
        except TimeoutError:
            log.warning("journal not drained at shutdown; what is left stays in the spool")
        await self.ctx.tasks.cancel_all()
        await self.ari.close()
        await self.ami.close()
        await self.ctx.db.close()


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


async def serve(settings: Settings) -> None:
    daemon = Daemon(settings)
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
