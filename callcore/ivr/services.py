"""The IVR's services: the menu registry, the routing FastAGI server the dialplan calls before
Stasis, the ticket-status lookup, and the call flow built on them (``callcore.ivr.plugin`` wires them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from callcore.agi.server import FastAgiServer
from callcore.config import Settings
from callcore.ivr.stasis import HandoffHandler, ivr_flow
from callcore.routing.hours import BusinessHours
from callcore.ivr.lookup import StoreTicketLookup
from callcore.ivr.registry import MenuRegistry, UnknownMenu
from callcore.ivr.rules import stored_rules
from callcore.ivr.types import Handoffs
from callcore.ivr.validator import prompt_dirs
from callcore.prompts.synth import ensure_digits
from callcore.routing.policy import RoutingPolicy
from callcore.store.db import Database
from callcore.core.tasks import TaskSet

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

        registry = MenuRegistry(ivr_dir=settings.ivr_dir, dirs=prompt_dirs(settings), db=db,
                                rules=partial(stored_rules, db))

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

    def flow(self, *, fallback: Callable[[Any], Awaitable[None]] | None = None, handoffs: Handoffs | None = None,
             on_handoff: HandoffHandler | None = None,
             resume: Callable[[Any], Awaitable[bool]] | None = None,
             apologize: Callable[[Any], Awaitable[None]] | None = None) -> Callable[[Any], Awaitable[None]]:
        return ivr_flow(self.registry, sounds_dir=self.settings.sounds_dir, lookup=self.lookup, handoffs=handoffs,
                        on_handoff=on_handoff, fallback=fallback, resume=resume, apologize=apologize, menu=MAIN_MENU)
