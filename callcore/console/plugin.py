"""The console capability: serves the built browser console and its browser-facing helpers.

It sits on top of every other capability (its WebSocket bridge reaches the queues' feeds), builds
nothing the others need, and owns no table. A console that was never built is not an outage of
the telephony: the daemon runs, logs a warning at start and answers ``/console/`` with a page
that says how to build it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from callcore.api.router import Router
from callcore.console import http
from callcore.console.assets import ConsoleAssets, dist_dir
from callcore.console.tickets import AudioTickets, SocketTickets
from callcore.plugin import Plugin

log = logging.getLogger(__name__)


class ConsolePlugin(Plugin):
    name = "console"

    def build(self) -> None:
        self.assets = self.ctx.provide(ConsoleAssets(dist_dir()))
        self.ctx.provide(SocketTickets())
        self.ctx.provide(AudioTickets())

    async def start(self) -> None:
        if self.assets.built:
            log.info("console: serving %s at /console/", self.assets.root)
        else:
            log.warning("console: NOT BUILT (%s has no index.html); /console/ answers 503 until "
                        "`npm ci && npm run build` runs in console/ (scripts/start.sh does)", self.assets.root)

    def routers(self) -> Sequence[Router]:
        return (http.api, http.static)
