"""The surveys capability (T-14; the flow W-12's survey calls reuse): after the agent hangs up an
inbound call, the caller stays on the line for a keypad survey, run in the queues' ``after_talk``
step; ratings are stored on the call, counted in the agent's figures and stepped on the linked
tickets; supervisors list them at ``GET /api/v1/surveys``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from callcore.api.router import Router
from callcore.calls.outbound import OutboundDialer
from callcore.calls.session import CallSession
from callcore.core.jobs import PeriodicJob
from callcore.core.context import AppContext
from callcore.ivr.types import HandoffTarget
from callcore.plugin import Plugin
from callcore.queues.settings import QueueSettings
from callcore.queues.stasis import QueueHandoff
from callcore.surveys import http
from callcore.surveys.calls import SurveyCaller
from callcore.surveys.flow import SurveyFlow
from callcore.surveys.models import INBOUND
from callcore.surveys.services import SurveyService
from callcore.surveys.types import SurveySubject
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)


def queue_handoff(ctx: AppContext) -> QueueHandoff | None:
    """The queues' caller flow, whose after-talk step the survey is (None: no queues in this daemon)."""
    if ctx.has(QueueHandoff):
        return ctx.get(QueueHandoff)
    target = ctx.get(HandoffTarget) if ctx.has(HandoffTarget) else None  # type: ignore[type-abstract]
    return target if isinstance(target, QueueHandoff) else None


# Seconds between looks for sampled tickets due a survey call.
CALL_SWEEP_SECONDS = 30.0


class SurveysPlugin(Plugin):
    name = "surveys"
    models = ("callcore.surveys.models",)

    def build(self) -> None:
        ctx = self.ctx
        self.settings = ctx.settings.surveys
        tickets = ctx.get(TicketService) if ctx.has(TicketService) else None
        self.service = ctx.provide(SurveyService(ctx.db, tickets=tickets))
        self.flow = ctx.provide(SurveyFlow(settings=self.settings, sounds_dir=ctx.settings.sounds_dir,
                                           store=self.service))
        self.caller = None
        if tickets is not None and ctx.has(OutboundDialer):
            self.caller = SurveyCaller(db=ctx.db, tickets=tickets, outbound=ctx.get(OutboundDialer), flow=self.flow,
                                       settings=self.settings)
        handoff = queue_handoff(ctx)
        if self.settings.enabled and handoff is not None:
            handoff.after_talk = self.after_talk
        elif self.settings.enabled:
            log.info("no queues in this daemon: no inbound caller is surveyed")

    async def after_talk(self, session: CallSession, agent: str, settings: QueueSettings) -> None:
        """The inbound survey: the agent hung up first and the caller is still on the line. Keys
        pressed before (in the queue, during the conversation) are no answer to it."""
        session.clear_digits()
        await self.flow.run(session, SurveySubject(kind=INBOUND, agent=agent, queue=settings.name))

    async def start(self) -> None:
        if self.settings.enabled or (self.caller is not None and self.settings.calls):
            await self.flow.prepare()

    async def stop(self) -> None:
        if self.caller is not None:
            await self.caller.close()

    def jobs(self) -> Sequence[PeriodicJob]:
        """W-12: the automatic survey calls about sampled tickets."""
        if self.caller is None or not self.settings.calls:
            return ()
        return (PeriodicJob(name="survey-calls", job=self.caller, interval=CALL_SWEEP_SECONDS),)

    def routers(self) -> Sequence[Router]:
        return (http.router,)
