"""The accounts capability: departments, users and their roles, login sessions, the audit log of
personal-data views (A-1, A-2). Its session store authenticates users' bearer tokens."""

from __future__ import annotations

from collections.abc import Sequence

from callcore.accounts import http
from callcore.accounts.sessions import SessionAuth
from callcore.api.auth import Authenticator
from callcore.api.router import Router
from callcore.core.sockets import SessionSockets
from callcore.plugin import Plugin


class AccountsPlugin(Plugin):
    name = "accounts"
    models = ("callcore.accounts.models",)

    def build(self) -> None:
        hours = self.ctx.settings.tickets.session_hours
        # The feeds hold their sockets here; the sessions end them (``callcore.core.sockets``).
        sockets = self.ctx.provide(SessionSockets())
        self.sessions = self.ctx.provide(SessionAuth(self.ctx.db, hours=hours, sockets=sockets))
        self.ctx.provide(http.LoginFailures())

    def routers(self) -> Sequence[Router]:
        return (http.router,)

    def authenticators(self) -> Sequence[Authenticator]:
        return (self.sessions,)
