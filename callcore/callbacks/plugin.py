"""The callbacks capability: callback tasks (chosen in the queue, missed calls, messages), the dialer
that serves them in the queues' order, click-to-dial, and the outbound trunk they all dial through."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from callcore.api.router import Router
from callcore.ari.client import AriClient
from callcore.ari.errors import AriError
from callcore.callbacks import http
from callcore.callbacks.clicktodial import ClickToDial
from callcore.callbacks.dialer import CallbackDialer
from callcore.callbacks.missed import MissedCallSweep
from callcore.callbacks.offers import CallbackOffers
from callcore.callbacks.services import CallbackService
from callcore.calls.journal import CallJournal
from callcore.calls.outbound import OUTBOUND_KIND, NumberPolicy, OutboundDialer
from callcore.calls.session import CallSession
from callcore.calls.stasis import StasisApp
from callcore.core.jobs import PeriodicJob
from callcore.plugin import Plugin, StasisHandler
from callcore.queues.card import CallerCard, caller_card
from callcore.queues.services import QueueService
from callcore.queues.stasis import QueueHandoff
from callcore.recordings.voicemail import Voicemail, VoicemailLeft
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)

# Seconds between the missed-call sweeps: a lost call has its task within this.
SWEEP_SECONDS = 5.0


class CallbacksPlugin(Plugin):
    name = "callbacks"
    models = ("callcore.callbacks.models",)

    def build(self) -> None:
        ctx = self.ctx
        settings = ctx.settings
        cb = settings.callbacks
        policy = NumberPolicy.parse(cb.allowed_prefixes, min_length=cb.min_length, max_length=cb.max_length)
        journal = ctx.get(CallJournal)
        stasis = ctx.get(StasisApp)
        self.outbound = ctx.provide(OutboundDialer(
            ari=ctx.get(AriClient), stasis=stasis, journal=journal,
            trunk="citizen-out" if settings.asterisk.outbound_trunk else "", caller_id=settings.asterisk.hotline,
            policy=policy))
        self.callbacks = ctx.provide(CallbackService(ctx.db, cb, policy))
        self.handoff = handoff = ctx.get(QueueHandoff)
        handoff.callbacks = CallbackOffers(self.callbacks, offer_after=cb.offer_after)
        tickets = ctx.get(TicketService)

        async def card(call_id: str, number: str) -> CallerCard:
            return await caller_card(ctx.db, call_id=call_id, caller_number=number, attributes={}, tickets=tickets)

        service = ctx.get(QueueService)
        self.dialer = ctx.provide(CallbackDialer(
            service=service, handoff=handoff, outbound=self.outbound, callbacks=self.callbacks, journal=journal,
            sounds_dir=settings.sounds_dir, card=card, ring_seconds=cb.ring_seconds, dial=cb.dial))
        general = service.settings("general")
        self.click = ctx.provide(ClickToDial(service=service, dialer=self.dialer, outbound=self.outbound,
                                             journal=journal, card=card, tickets=tickets,
                                             wrap_up=general.wrap_up if general else 10.0))
        self.sweep = MissedCallSweep(self.callbacks, enabled=cb.missed_calls)
        if ctx.has(Voicemail):
            ctx.get(Voicemail).add_listener(self._voicemail_left)

    async def _voicemail_left(self, left: VoicemailLeft) -> None:
        """T-10: every message left (by the daemon or through the dialplan's fallback) is a callback task."""
        task_id = await self.sweep.voicemail_task(recording_id=left.recording_id, call_id=left.call_id,
                                                  number=left.caller_number, queue=left.queue, at=left.at)
        if task_id is None:
            log.info("message %s: no callback task (decided before, or a number that cannot be called back)",
                     left.recording_id)

    async def start(self) -> None:
        if not self.outbound.configured:
            log.warning("no outbound trunk (asterisk.outbound_trunk): callbacks and click-to-dial cannot dial; "
                        "tasks are kept until one is configured")
        n = await self.dialer.load()
        if n:
            log.info("%d callback tasks back in line", n)

    async def stop(self) -> None:
        await self.click.close()
        await self.dialer.close()

    def routers(self) -> Sequence[Router]:
        return (http.router,)

    def stasis_handlers(self) -> Mapping[str, StasisHandler]:
        return {OUTBOUND_KIND: self._resumed}

    async def _resumed(self, session: CallSession) -> None:
        """A citizen's leg the daemon dialled, found parked after a restart: a conversation still
        going on is followed to its end; anything else (still ringing when the daemon went) ends."""
        if session.resumed:
            found = await self.callbacks.attempt_of_call(session.call_id)
            if found is not None and found[1].outcome == "talking":
                settings = self.handoff.service.settings(found[0].queue)
                await self.handoff.reattach(session, found[1].agent or "", settings)
                await self.callbacks.finish_attempt(found[1].id)
                return
        try:
            await session.hangup("normal")
        except AriError:
            pass

    def jobs(self) -> Sequence[PeriodicJob]:
        return (PeriodicJob(name="missed-call-callbacks", job=self.sweep, interval=SWEEP_SECONDS),)
