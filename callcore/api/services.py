"""What the HTTP handlers reach: the daemon's shared services, one typed key each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from callcore.bus import EventBus
from callcore.calls.journal import CallJournal
from callcore.config import Settings
from callcore.store.db import Database

HealthCheck = Callable[[], Awaitable[bool]]


@dataclass(kw_only=True)
class Services:
    settings: Settings
    db: Database
    bus: EventBus
    journal: CallJournal
    # Component name -> check; the daemon adds ari and ami, the store adds database.
    health: dict[str, HealthCheck] = field(default_factory=dict)


SERVICES = web.AppKey("callcore.services", Services)
