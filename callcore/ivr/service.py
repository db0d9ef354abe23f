"""The IVR capability as the daemon wires it: menu registry, routing FastAGI server, ticket lookup, call flow.

In ``Daemon.start`` (after the migrations)::

    self.ivr = IvrService.build(self.settings, self.db)
    await self.ivr.start(self.tasks)                    # loads menus, starts FastAGI, watches ivr/
    flow = self.ivr.flow(fallback=welcome_flow(prompts))
    ...
    app = create_app(services); self.ivr.install(app)   # the admin API reaches the registry

and ``await self.ivr.stop()`` in ``Daemon.stop``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcore.agi.server import FastAgiServer
from callcore.config import Settings
from callcore.ivr.flow import HandoffHandler, ivr_flow
from callcore.ivr.format import BusinessHours
from callcore.ivr.lookup import StoreTicketLookup
from callcore.ivr.registry import MenuRegistry, UnknownMenu
from callcore.ivr.types import Handoffs
from callcore.ivr.validator import prompt_dirs
from callcore.prompts.synth import ensure_digits
from callcore.routing.policy import RoutingPolicy
from callcore.store.db import Database
from callcore.tasks import TaskSet

MAIN_MENU = "main"


@dataclass(kw_only=True)
class IvrService:
    settings: Settings
    registry: MenuRegistry
    agi: FastAgiServer
    lookup: StoreTicketLookup

    @classmethod
    def build(cls, settings: Settings, db: Database) -> IvrService:
        from agi_scripts import handlers

        registry = MenuRegistry(ivr_dir=settings.ivr_dir, dirs=prompt_dirs(settings), db=db)

        def hours() -> BusinessHours | None:
            try:
                return registry.current(MAIN_MENU).menu.hours
            except UnknownMenu:
                return None

        agi = FastAgiServer(handlers(RoutingPolicy(db, hours)), host=settings.agi.host, port=settings.agi.port)
        return cls(settings=settings, registry=registry, agi=agi, lookup=StoreTicketLookup(db))

    async def start(self, tasks: TaskSet) -> None:
        """Menus first (so routing knows the hours), digit prompts, then FastAGI and the ``ivr/`` watcher."""
        await self.registry.load()
        await ensure_digits(self.settings.sounds_dir)
        await self.agi.start()
        tasks.spawn(self.registry.watch(), name="ivr-watch")

    async def stop(self) -> None:
        await self.agi.close()

    def install(self, app: web.Application) -> None:
        from callcore.api.ivr import IVR_REGISTRY

        app[IVR_REGISTRY] = self.registry

    def flow(self, *, fallback: Callable[[Any], Awaitable[None]] | None = None, handoffs: Handoffs | None = None,
             on_handoff: HandoffHandler | None = None) -> Callable[[Any], Awaitable[None]]:
        return ivr_flow(self.registry, sounds_dir=self.settings.sounds_dir, lookup=self.lookup, handoffs=handoffs,
                        on_handoff=on_handoff, fallback=fallback, menu=MAIN_MENU)
