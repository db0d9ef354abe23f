"""The tickets capability (工单, W-1..W-17, S-1): the ticket service, its staff, admin, public and
Open311 APIs, and three periodic jobs (automatic urges, callback sampling, the notification
outbox relay), each safe to run in several daemons at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from callcore.api.router import Router
from callcore.calls.scope import CallScopes
from callcore.config import NotifySettings
from callcore.core.identity import HANDLER
from callcore.core.jobs import PeriodicJob
from callcore.plugin import Plugin
from callcore.tickets import http, http_admin, http_open311, http_public, search
from callcore.tickets.call_access import handler_calls
from callcore.tickets.http_public import PublicLimiter
from callcore.tickets.outbox import OutboxRelay, Sender
from callcore.tickets.scheduler import UrgeScheduler
from callcore.tickets.senders import LogSender, WebhookSender
from callcore.tickets.services import TicketService
from callcore.tickets.visits import VisitSampler

URGE_INTERVAL = 300.0
VISIT_INTERVAL = 600.0
OUTBOX_INTERVAL = 2.0


def default_sender(notify: NotifySettings) -> Sender:
    """``notify.webhook`` (``CALLCORE_NOTIFY_WEBHOOK``, token ``CALLCORE_NOTIFY_TOKEN``) selects the webhook sender; else the log."""
    return WebhookSender(notify.webhook, token=notify.token) if notify.webhook else LogSender()


class TicketsPlugin(Plugin):
    name = "tickets"
    models = ("callcore.tickets.models", "callcore.tickets.search")

    def build(self) -> None:
        ctx = self.ctx
        settings = ctx.settings.tickets
        self.service = ctx.provide(TicketService(ctx.db, settings))
        ctx.warnings["holiday_calendar"] = self.service.calendar_warning
        ctx.provide(PublicLimiter(settings.public_lookups_per_minute, 60.0))
        self.sender = default_sender(ctx.settings.notify)
        if ctx.has(CallScopes):
            ctx.get(CallScopes).add(HANDLER, handler_calls)

    async def start(self) -> None:
        # jieba loads its dictionary once (~1 s): in a thread now, not in the first search or new ticket.
        await asyncio.to_thread(search.segmenter)

    def routers(self) -> Sequence[Router]:
        return (http.router, http_public.router, http_open311.router, http_admin.router)

    def jobs(self) -> Sequence[PeriodicJob]:
        return (
            PeriodicJob(name="urge scheduler", job=UrgeScheduler(self.service), interval=URGE_INTERVAL),
            PeriodicJob(name="visit sampler", job=VisitSampler(self.service), interval=VISIT_INTERVAL),
            PeriodicJob(name="outbox relay", job=OutboxRelay(self.ctx.db, self.sender), interval=OUTBOX_INTERVAL),
        )
