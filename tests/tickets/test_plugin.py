"""The tickets plugin provides its service and the public limiter, and runs its three jobs at
the intervals the daemon always used."""

from __future__ import annotations

from pathlib import Path

from callcore.accounts.plugin import AccountsPlugin
from callcore.config import NotifySettings
from callcore.daemon import build_plugins
from callcore.store.db import Database
from callcore.tickets.http_public import PublicLimiter
from callcore.tickets.outbox import OutboxRelay
from callcore.tickets.plugin import TicketsPlugin
from callcore.tickets.scheduler import UrgeScheduler
from callcore.tickets.senders import LogSender, WebhookSender
from callcore.tickets.services import TicketService
from callcore.tickets.visits import VisitSampler
from tests.apps import context


async def test_build_and_jobs(db: Database, tmp_path: Path) -> None:
    ctx = context(db, tmp_path)
    _, plugin = build_plugins(ctx, [AccountsPlugin, TicketsPlugin])
    assert isinstance(plugin, TicketsPlugin)
    service = ctx.get(TicketService)
    assert service.settings is ctx.settings.tickets
    assert ctx.get(PublicLimiter).limit == ctx.settings.tickets.public_lookups_per_minute
    jobs = {j.name: j for j in plugin.jobs()}
    assert {name: (type(j.job), j.interval) for name, j in jobs.items()} == {
        "urge scheduler": (UrgeScheduler, 300.0), "visit sampler": (VisitSampler, 600.0),
        "outbox relay": (OutboxRelay, 2.0)}
    assert isinstance(plugin.sender, LogSender)
    assert await jobs["outbox relay"].tick() == 0


async def test_webhook_sender_when_configured(db: Database, tmp_path: Path) -> None:
    ctx = context(db, tmp_path, notify=NotifySettings(webhook="http://127.0.0.1:9/hook", token="t"))
    _, plugin = build_plugins(ctx, [AccountsPlugin, TicketsPlugin])
    assert isinstance(plugin, TicketsPlugin) and isinstance(plugin.sender, WebhookSender)
