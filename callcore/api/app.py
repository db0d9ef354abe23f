"""Builds the aiohttp application from the capabilities' routers: auth, errors, the OpenAPI document.

The framework's own routes (health, the live event stream, the OpenAPI document) are always
there; everything else comes from the plugins (``callcore.daemon.build_app``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from callcore.api import health, stream
from callcore.api.auth import AuthChain
from callcore.api.openapi import build
from callcore.api.router import AUTH_KEY, CONTEXT, MAX_BODY_BYTES, ApiRequest, Router, error_middleware, install
from callcore.core.context import AppContext

meta = Router("/api/v1")
OPENAPI = web.AppKey("callcore.openapi", dict)


@meta.get("/openapi.json", summary="The OpenAPI document", tags=("meta",), auth=False, response=dict[str, Any])
async def openapi(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    return req.raw.app[OPENAPI]


def create_app(ctx: AppContext, *, routers: Iterable[Router], auth: AuthChain) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[CONTEXT] = ctx
    app[AUTH_KEY] = auth
    routes = install(app, [health.router, stream.router, *routers, meta])
    app[OPENAPI] = build(routes)
    return app
