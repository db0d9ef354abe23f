"""The IVR capability: menus admins edit (registry, versions, hot reload, admin API), the routing
FastAGI step, and the IVR call flow for ``inbound`` Stasis channels (when ``flow = "ivr"``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from callcore.api.router import Router
from callcore.calls.welcome import WelcomeFlow
from callcore.ivr import http
from callcore.ivr.registry import MenuRegistry
from callcore.ivr.services import IvrService
from callcore.ivr.types import HandoffTarget
from callcore.plugin import Plugin, StasisHandler


class IvrPlugin(Plugin):
    name = "ivr"
    models = ("callcore.ivr.models",)
    commands = "callcore.ivr.commands"

    def build(self) -> None:
        self.service = self.ctx.provide(IvrService.build(self.ctx.settings, self.ctx.db))
        self.ctx.provide(self.service.registry, kind=MenuRegistry)

    async def start(self) -> None:
        await self.service.start(self.ctx.tasks)

    async def stop(self) -> None:
        await self.service.stop()

    def routers(self) -> Sequence[Router]:
        return (http.router,)

    def stasis_handlers(self) -> Mapping[str, StasisHandler]:
        if self.ctx.settings.flow != "ivr":
            return {}
        # No valid menu in service: the caller still gets the welcome and a clean goodbye.
        fallback = self.ctx.get(WelcomeFlow)
        if not self.ctx.has(HandoffTarget):
            return {"inbound": self.service.flow(fallback=fallback, apologize=fallback.apologize)}
        target = self.ctx.get(HandoffTarget)  # type: ignore[type-abstract]
        return {"inbound": self.service.flow(fallback=fallback, handoffs=target, on_handoff=target.take,
                                             resume=target.resume, apologize=fallback.apologize)}
