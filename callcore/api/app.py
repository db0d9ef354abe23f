"""Builds the aiohttp application: routers, auth, errors and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from callcore.api import calls, health, ivr, routing, stream
from callcore.api import accounts, admin, open311, public, tickets
from callcore.api.auth import AuthChain, StaticTokenAuth
from callcore.api.openapi import build
from callcore.api.router import AUTH_KEY, ApiRequest, Router, error_middleware, install
from callcore.api.services import SERVICES, Services

meta = Router("/api/v1")
OPENAPI = web.AppKey("callcore.openapi", dict)
# Capabilities add their routers here (tickets, ivr, ...); one list, read once per app.
ROUTERS: list[Router] = [health.router, calls.router, stream.router, ivr.router, routing.router, meta]
ROUTERS += [tickets.router, accounts.router, admin.router, public.router, open311.router]


@meta.get("/openapi.json", summary="The OpenAPI document", tags=("meta",), auth=False)
async def openapi(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    return req.app[OPENAPI]


def create_app(services: Services, *, routers: Iterable[Router] | None = None, auth: AuthChain | None = None) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=8 * 1024 * 1024)
    app[SERVICES] = services
    app[AUTH_KEY] = auth or AuthChain(StaticTokenAuth(services.settings.api.token))
    routes = install(app, routers if routers is not None else ROUTERS)
    app[OPENAPI] = build(routes)
    return app
