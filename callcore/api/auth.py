"""Who is calling the API. Every endpoint but health and the public ones needs a bearer token."""

from __future__ import annotations

import hmac
from typing import Protocol

from callcore.core.identity import ADMIN, Principal


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal | None: ...


class AuthChain:
    """Tries each authenticator in turn; later capabilities append theirs (user sessions)."""

    def __init__(self, *authenticators: Authenticator) -> None:
        self.authenticators = list(authenticators)

    async def authenticate(self, token: str) -> Principal | None:
        for auth in self.authenticators:
            principal = await auth.authenticate(token)
            if principal is not None:
                return principal
        return None


# The principal of the configuration's admin token: a secret of the installation, not a login session,
# so no request revokes it; it changes with CALLCORE_API_TOKEN and a restart (issue 12).
CONFIG_TOKEN_USER = "admin-token"


class StaticTokenAuth:
    """The admin token from the configuration (ops and service-to-service)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def authenticate(self, token: str) -> Principal | None:
        if self._token and hmac.compare_digest(token.encode(), self._token):
            return Principal(user_id=CONFIG_TOKEN_USER, name="admin token", role=ADMIN)
        return None
