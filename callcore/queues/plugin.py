"""The queues capability: queues from the catalog file, agents and their phones, the dispatcher
that rings them, the caller's wait and the agent's announcement, screen pops, the wallboard and
the figures. The IVR hands callers here through ``HandoffTarget``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from callcore.ami.client import AmiClient
from callcore.ami.errors import AmiError
from callcore.api.router import Router
from callcore.ari.client import AriClient
from callcore.calls.scope import CallScopes
from callcore.calls.session import CallSession
from callcore.calls.stasis import StasisApp
from callcore.core.identity import AGENT
from callcore.core.jobs import PeriodicJob
from callcore.ivr.types import HandoffTarget
from callcore.plugin import AmiHandler, Plugin
from callcore.queues import http, http_admin, http_figures, http_queues
from callcore.queues.call_access import AgentCalls
from callcore.queues.card import CallerCard, caller_card
from callcore.queues.catalog import QueueCatalog
from callcore.queues.directory import AgentDirectory
from callcore.queues.services import QueueService
from callcore.queues.stasis import QueueHandoff
from callcore.queues.wallboard import Wallboard
from callcore.recordings.recorder import Recorder
from callcore.recordings.voicemail import Voicemail
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)

# Seconds between the re-reads of the agent list and every phone's state (AMI events keep both
# current; this catches a change made by another process or an event lost in a reconnect).
SYNC_SECONDS = 15.0


class AgentSync:
    """Re-reads the agents from the store and the agents' phones from Asterisk."""

    def __init__(self, service: QueueService, ami: AmiClient) -> None:
        self.service = service
        self.ami = ami

    async def run_once(self) -> int:
        await self.service.refresh_agents()
        if not self.ami.connected:
            return 0
        try:
            messages = await self.ami.action({"Action": "DeviceStateList"}, timeout=5.0)
        except AmiError as exc:
            log.warning("device states not read: %s", exc)
            return 0
        n = 0
        for m in messages:
            if m.get("Event") == "DeviceStateChange":
                self.service.on_device_state(m.get("Device", ""), m.get("State", ""))
                n += 1
        return n


class QueuesPlugin(Plugin):
    name = "queues"
    models = ("callcore.queues.models",)
    commands = "callcore.queues.commands"

    def build(self) -> None:
        ctx = self.ctx
        settings = ctx.settings
        self.catalog = ctx.provide(QueueCatalog(settings.queues_file))
        if ctx.has(CallScopes):
            ctx.get(CallScopes).add(AGENT, AgentCalls(ctx.db, self.catalog))
        stasis = ctx.get(StasisApp)
        self.service = ctx.provide(QueueService(ari=ctx.get(AriClient), stasis=stasis, db=ctx.db, bus=ctx.bus,
                                                queues=self.catalog))
        self.directory = ctx.provide(AgentDirectory(ctx.db, settings, ctx.get(AmiClient)))

        tickets = ctx.get(TicketService)

        async def card(session: CallSession) -> CallerCard:
            return await caller_card(ctx.db, call_id=session.call_id, caller_number=session.caller_number,
                                     attributes=session.attributes, tickets=tickets,
                                     ivr_path=session.attributes.get("ivr_path"))

        recorder = ctx.get(Recorder) if ctx.has(Recorder) else None
        voicemail = ctx.get(Voicemail) if ctx.has(Voicemail) else None
        self.handoff = QueueHandoff(self.service, stasis=stasis, sounds_dir=settings.sounds_dir, card=card,
                                    recorder=recorder, voicemail=voicemail)
        ctx.provide(self.handoff, kind=HandoffTarget)
        ctx.provide(self.handoff)  # the capabilities above the queues (callbacks, surveys) add to it
        self.sync = AgentSync(self.service, ctx.get(AmiClient))
        ctx.provide(Wallboard(self.service, ctx.db))

    async def start(self) -> None:
        self.catalog.load()
        await self.service.load()
        self.ctx.tasks.spawn(self.service.writer.run(), name="queue-state-writer")
        self.ctx.tasks.spawn(self.catalog.watch(), name="queues-watch")
        self.ctx.get(StasisApp).handle_leg("agent", self.handoff.resume_agent_leg)

    async def stop(self) -> None:
        await self.service.close()

    def routers(self) -> Sequence[Router]:
        return (http.router, http_admin.router, http_queues.router, http_figures.router)

    def ami_handlers(self) -> Mapping[str, AmiHandler]:
        return {"DeviceStateChange": self._device_state}

    def _device_state(self, event: dict[str, str]) -> None:
        self.service.on_device_state(event.get("Device", ""), event.get("State", ""))

    def jobs(self) -> Sequence[PeriodicJob]:
        return (PeriodicJob(name="agent-sync", job=self.sync, interval=SYNC_SECONDS),)
