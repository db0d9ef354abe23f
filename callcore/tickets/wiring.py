"""How the daemon plugs the ticket capability in: the app keys, the auth chain, the background jobs.

    app = create_app(services, auth=auth_chain(services))
    setup_tickets(app, services)
    jobs = background_jobs(services, app)   # run each job's .run() in the daemon's task group
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcore.accounts.sessions import SessionAuth
from callcore.api.auth import AuthChain, StaticTokenAuth
from callcore.api.ratelimit import RateLimiter
from callcore.api.services import SERVICES, Services
from callcore.config import NotifySettings
from callcore.tickets.outbox import OutboxRelay, Sender
from callcore.tickets.scheduler import UrgeScheduler
from callcore.tickets.senders import LogSender, WebhookSender
from callcore.tickets.service import TicketService
from callcore.tickets.settings import TicketSettings
from callcore.tickets.visits import VisitSampler

TICKETS = web.AppKey("callcore.tickets", TicketService)
SESSIONS = web.AppKey("callcore.sessions", SessionAuth)
PUBLIC_LIMITER = web.AppKey("callcore.public_limiter", RateLimiter)


def auth_chain(services: Services, settings: TicketSettings | None = None) -> AuthChain:
    """The admin token from the configuration, then users' login sessions."""
    hours = (settings or services.settings.tickets).session_hours
    return AuthChain(StaticTokenAuth(services.settings.api.token), SessionAuth(services.db, hours=hours))


def setup_tickets(app: web.Application, services: Services, settings: TicketSettings | None = None) -> TicketService:
    """Puts the ticket service, the session store and the public rate limiter in the app; call
    after ``create_app`` and before the app starts."""
    settings = settings or services.settings.tickets
    service = TicketService(services.db, settings)
    app[TICKETS] = service
    app[SESSIONS] = SessionAuth(services.db, hours=settings.session_hours)
    app[PUBLIC_LIMITER] = RateLimiter(settings.public_lookups_per_minute, 60.0)
    from callcore.api.app import OPENAPI
    from callcore.api.open311 import document_form_bodies

    if OPENAPI in app:
        document_form_bodies(app[OPENAPI])
    return service


def default_sender(notify: NotifySettings) -> Sender:
    """``notify.webhook`` (``CALLCORE_NOTIFY_WEBHOOK``, token ``CALLCORE_NOTIFY_TOKEN``) selects the webhook sender; else the log."""
    return WebhookSender(notify.webhook, token=notify.token) if notify.webhook else LogSender()


def background_jobs(app: web.Application, sender: Sender | None = None) -> list[Any]:
    """The urge scheduler, the callback sampler and the outbox relay; each has ``run_once(now)`` and
    ``run(interval)``. Safe to run in several daemons at once."""
    service = app[TICKETS]
    notify = app[SERVICES].settings.notify
    return [UrgeScheduler(service), VisitSampler(service), OutboxRelay(service.db, sender or default_sender(notify))]
