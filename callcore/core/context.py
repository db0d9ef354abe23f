"""The application context: the one object the daemon builds and every capability receives.

It replaces app keys and module-level singletons: settings, the database, the live event bus, the
call journal's state, the daemon's task set, the health checks, and the services capabilities provide to
each other (``ctx.provide(service)`` in one plugin's ``build``, ``ctx.get(ServiceClass)`` in
another's, or in an HTTP handler through ``req.ctx``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from callcore.config import Settings
from callcore.core.bus import EventBus
from callcore.core.errors import ServiceUnavailable
from callcore.core.tasks import TaskSet
from callcore.store.db import Database

T = TypeVar("T")
HealthCheck = Callable[[], Awaitable[bool]]
# A condition ops must act on that does not stop the daemon working (e.g. no holiday data for next year):
# a message, or None when all is well.
HealthWarning = Callable[[], Awaitable[str | None]]


class JournalState(Protocol):
    """What health reports of the call journal (``callcore.calls.journal.CallJournal``), which the
    calls capability puts here in its ``build``."""

    @property
    def spooled(self) -> bool: ...

    @property
    def backlog(self) -> int: ...


@dataclass(kw_only=True, eq=False)
class AppContext:
    settings: Settings
    db: Database
    bus: EventBus = field(default_factory=EventBus)
    tasks: TaskSet = field(default_factory=lambda: TaskSet("daemon"))
    # Component name -> check; the daemon adds ari and ami, the store adds database.
    health: dict[str, HealthCheck] = field(default_factory=dict)
    # Name -> warning shown by health without making it fail (``HealthWarning``).
    warnings: dict[str, HealthWarning] = field(default_factory=dict)
    journal: JournalState | None = None
    _services: dict[type, object] = field(default_factory=dict, repr=False)

    def provide(self, service: T, *, kind: type[T] | None = None) -> T:
        """Registers a service under its class (or ``kind``); a second one of the same kind is a bug."""
        key = kind or type(service)
        if key in self._services:
            raise RuntimeError(f"a {key.__name__} is already provided")
        self._services[key] = service
        return service

    def get(self, kind: type[T]) -> T:
        """The service of that kind; 503 when this daemon runs without the capability that provides it."""
        found = self._services.get(kind)
        if found is None:
            raise ServiceUnavailable(f"{kind.__name__} is not running in this daemon")
        return found  # type: ignore[return-value]

    def has(self, kind: type) -> bool:
        return kind in self._services
