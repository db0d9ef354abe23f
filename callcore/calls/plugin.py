"""The calls capability: the journal (every call and its timeline in the store), the Stasis app
that turns ARI events into call sessions, reconciliation after a reconnect, the fallback mailbox
import, the welcome flow, the call list API, the door (calls that end before the Stasis app, from
AMI), and Asterisk's agent-phone events on the live stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from callcore.api.router import Router
from callcore.ari.client import AriClient
from callcore.calls import http
from callcore.calls.door import HOTLINE_CONTEXT, Door
from callcore.calls.fallback import FallbackImporter
from callcore.calls.journal import CallJournal
from callcore.calls.ledger import INTERVAL as LEDGER_INTERVAL
from callcore.calls.ledger import CdrLedger
from callcore.calls.reconcile import Reconciler
from callcore.calls.scope import CallScopes
from callcore.calls.stasis import StasisApp
from callcore.calls.welcome import WelcomeFlow
from callcore.core.jobs import PeriodicJob
from callcore.plugin import AmiHandler, Plugin, StasisHandler
from callcore.prompts.system import system_prompts

# AMI events ops see in the live stream (agent phones coming and going).
STREAMED_AMI_EVENTS = ("ContactStatus", "DeviceStateChange", "PeerStatus")


class CallsPlugin(Plugin):
    name = "calls"
    models = ("callcore.calls.models",)

    def build(self) -> None:
        ctx = self.ctx
        settings = ctx.settings
        self.journal = ctx.provide(CallJournal(ctx.db, settings.spool_file, ctx.bus,
                                               short_abandon_seconds=settings.calls.short_abandon_seconds))
        ctx.journal = self.journal
        ctx.provide(CallScopes())  # the capabilities above add who sees which calls
        ari = ctx.get(AriClient)
        fallback = (HOTLINE_CONTEXT, settings.asterisk.hotline, "fallback")
        self.stasis = ctx.provide(StasisApp(ari=ari, journal=self.journal, fallback=fallback))
        importer = FallbackImporter(ctx.db, self.journal, settings.fallback_mailbox_dir, hotline=settings.asterisk.hotline)
        self.ledger = CdrLedger(path=settings.cdr_ledger_file, offset_file=settings.run_dir / "cdr-ledger.offset",
                                db=ctx.db, journal=self.journal, context=HOTLINE_CONTEXT)
        self.reconciler = ctx.provide(
            Reconciler(ari=ari, db=ctx.db, journal=self.journal, stasis=self.stasis, fallback=importer,
                       ledger=self.ledger))
        self.door = ctx.provide(Door(journal=self.journal, hotline=settings.asterisk.hotline,
                                     max_age=settings.asterisk.max_call_seconds + 60.0))

    async def start(self) -> None:
        self.welcome = self.ctx.provide(WelcomeFlow(await system_prompts(self.ctx.settings.sounds_dir)))
        self.ctx.tasks.spawn(self.journal.run(), name="journal")
        self.ctx.tasks.spawn(self.door.run(self.ctx.bus), name="door")

    async def stop(self) -> None:
        # Calls still up go back to the dialplan (apology and voicemail), not cut off.
        await self.stasis.shutdown(hand_off=True)
        # Calls that ended before the app in the last seconds are written before the journal drains.
        self.door.flush()

    def routers(self) -> Sequence[Router]:
        return (http.router,)

    def jobs(self) -> Sequence[PeriodicJob]:
        # Asterisk's CDR also between reconnects: calls while the AMI session alone was down. The
        # reconciler runs the rounds, so that none runs beside its fallback import.
        return (PeriodicJob(name="cdr ledger", job=self.reconciler, interval=LEDGER_INTERVAL),)

    def stasis_handlers(self) -> Mapping[str, StasisHandler]:
        return {"inbound": self.welcome} if self.ctx.settings.flow == "welcome" else {}

    def ami_handlers(self) -> Mapping[str, AmiHandler]:
        return {**{name: self._stream for name in STREAMED_AMI_EVENTS}, **self.door.handlers()}

    def _stream(self, event: dict[str, str]) -> None:
        self.ctx.bus.publish({"kind": "asterisk", "type": event.get("Event", ""),
                              "data": {k: v for k, v in event.items() if k != "Event"}})
