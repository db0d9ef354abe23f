"""The routing capability: who is refused, who is a repeat caller, whether the hotline is open
(the policy the IVR's FastAGI step applies), and the blocked-number list supervisors keep."""

from __future__ import annotations

from collections.abc import Sequence

from callcore.api.router import Router
from callcore.plugin import Plugin
from callcore.routing import http
from callcore.routing.blocklist import EntryIds


class RoutingPlugin(Plugin):
    name = "routing"
    models = ("callcore.routing.models",)

    def build(self) -> None:
        self.ctx.provide(EntryIds())

    def routers(self) -> Sequence[Router]:
        return (http.router,)
