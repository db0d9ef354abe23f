"""The one contract a capability implements to plug into the daemon (after wazo-calld's plugins).

A capability is one folder under ``callcore/`` with a ``plugin.py`` whose ``Plugin`` subclass
declares what the capability brings: the services it builds from the context, its HTTP routers,
its Stasis handlers (keyed by the first Stasis argument: ``inbound``, later ``agent``,
``callback``, ...), the AMI events it wants, its periodic jobs, the authenticators it adds, its
CLI commands and its models. The daemon holds the ordered list (``callcore.plugins``) and does
the wiring once, so a new capability is one folder and one line in that list.

Lifecycle, in the list's order: ``build`` (construct services, ``ctx.provide`` them), then
``start`` (I/O: load files, open servers); ``stop`` runs in reverse order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

from callcore.api.auth import Authenticator
from callcore.api.router import Router
from callcore.core.context import AppContext
from callcore.core.jobs import PeriodicJob

# A call flow for the channels that enter the Stasis app with one first argument: it gets the
# call's ``callcore.calls.session.CallSession`` (new, or resumed after a restart) and drives it.
StasisHandler = Callable[[Any], Awaitable[None]]
AmiHandler = Callable[[dict[str, str]], None]


class Plugin:
    """Do-nothing defaults: a capability overrides what it brings."""

    name: ClassVar[str]
    # Modules defining the capability's SQLAlchemy models (Alembic and the tests import them).
    models: ClassVar[tuple[str, ...]] = ()
    # A module with ``add_commands(subparsers)`` for the ``callcore`` command line.
    commands: ClassVar[str | None] = None

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        """Construct the capability's services from the context and ``provide`` them; no I/O."""

    async def start(self) -> None:
        """I/O the capability needs before the first call or request (files, servers)."""

    async def stop(self) -> None:
        """Release what ``start`` took; runs in reverse plugin order."""

    def routers(self) -> Sequence[Router]:
        return ()

    def stasis_handlers(self) -> Mapping[str, StasisHandler]:
        return {}

    def ami_handlers(self) -> Mapping[str, AmiHandler]:
        """AMI event name -> handler; handlers must not block (spawn I/O into ``ctx.tasks``)."""
        return {}

    def jobs(self) -> Sequence[PeriodicJob]:
        return ()

    def authenticators(self) -> Sequence[Authenticator]:
        return ()
