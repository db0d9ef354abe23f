"""The console's routes: the built app under ``/console/``, and the browser-facing helpers under
``/api/v1/console/`` (who am I with my agent number; WebSocket tickets and the feeds they open).

The feeds themselves are the queues capability's handlers, called with the principal the ticket
carries, after the same role check their own routes declare: the console adds a way in, not a
second implementation or a wider audience.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcore.api.router import ApiRequest, Handler, Router
from callcore.api.validation import InputModel
from callcore.console.assets import ConsoleAssets
from callcore.console.tickets import SocketTickets
from callcore.core.errors import DomainError, Forbidden, NotFound, ServiceUnavailable, Unauthorized
from callcore.core.identity import Principal
from callcore.queues import http as queues_http
from callcore.queues.directory import AgentDirectory

api = Router("/api/v1/console")
static = Router("")

MISSING_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>控制台未构建</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>控制台尚未构建</h1>
<p>在仓库根目录运行 <code>bash scripts/start.sh</code>（或在 <code>console/</code> 中运行
<code>npm ci &amp;&amp; npm run build</code>）后刷新本页。</p>
<p>The console is not built: run <code>npm ci &amp;&amp; npm run build</code> in <code>console/</code>.</p></body></html>"""


# The page loads nothing from elsewhere (no CDN) and talks only to this daemon; Element Plus and
# CodeMirror set inline styles. A browser refuses anything else, and no other site may frame it.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class MeOut(BaseModel):
    user_id: str
    name: str
    role: str
    department_id: str | None
    agent_number: str | None = Field(description="the agent number this user answers calls as, if any")


class TicketOut(BaseModel):
    ticket: str
    expires_in: float


class SocketQuery(InputModel):
    ticket: str = Field(min_length=8, max_length=64)


# -- the app ---------------------------------------------------------------------------------------

@static.get("/console", summary="The browser console (redirect)", tags=("console",), auth=False,
            content_type="text/html")
async def console_root(req: ApiRequest[Any, Any]) -> web.StreamResponse:
    raise web.HTTPFound("/console/")


@static.get("/console/{path:.*}", summary="The browser console: the app and its files", tags=("console",),
            auth=False, content_type="text/html", responses={503: "the console is not built"})
async def console_file(req: ApiRequest[Any, Any]) -> web.StreamResponse:
    asset = req.ctx.get(ConsoleAssets).resolve(req.path.get("path", ""))
    if asset is None:
        return web.Response(status=503, text=MISSING_PAGE, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})
    if not asset.path.is_file():
        raise NotFound("no such console file (an older build?)")
    headers = {"Cache-Control": asset.cache_control, "X-Content-Type-Options": "nosniff"}
    if asset.path.suffix == ".html":
        headers.update(PAGE_HEADERS)
    return web.FileResponse(asset.path, headers=headers)


# -- helpers ---------------------------------------------------------------------------------------

@api.get("/me", summary="Who am I, with my agent number (the console's start)", tags=("console",), response=MeOut)
async def me(req: ApiRequest[Any, Any]) -> MeOut:
    u = req.user
    number: str | None = None
    try:
        number = (await req.ctx.get(AgentDirectory).for_user(u.user_id)).number
    except (NotFound, ServiceUnavailable):
        number = None
    return MeOut(user_id=u.user_id, name=u.name, role=u.role, department_id=u.department_id, agent_number=number)


@api.post("/socket-tickets", summary="A one-time ticket to open a console WebSocket", tags=("console",),
          response=TicketOut, status=201)
async def socket_ticket(req: ApiRequest[Any, Any]) -> TicketOut:
    tickets = req.ctx.get(SocketTickets)
    return TicketOut(ticket=tickets.issue(req.user), expires_in=tickets.ttl)


def _roles_of(handler: Handler) -> frozenset[str] | None:
    for route in queues_http.router.routes:
        if route.handler is handler:
            return route.roles
    raise RuntimeError(f"{handler.__name__} is not a queues route")


async def _as_ticket_holder(req: ApiRequest[Any, SocketQuery], handler: Handler) -> web.StreamResponse:
    principal: Principal | None = req.ctx.get(SocketTickets).redeem(req.query.ticket)
    if principal is None:
        raise Unauthorized("invalid, used or expired socket ticket")
    roles = _roles_of(handler)
    if roles is not None and principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not open this feed")
    inner = ApiRequest(raw=req.raw, principal=principal, body=req.body, query=req.query, path=req.path)
    result = await handler(inner)
    if not isinstance(result, web.StreamResponse):
        raise DomainError("the feed did not open a WebSocket")
    return result


@api.get("/sockets/agents/{number}/events", summary="An agent's live feed, opened with a socket ticket (WebSocket)",
         tags=("console",), auth=False, query=SocketQuery, responses={401: "bad ticket", 403: "not this agent"})
async def agent_events(req: ApiRequest[Any, SocketQuery]) -> web.StreamResponse:
    return await _as_ticket_holder(req, queues_http.agent_events)


@api.get("/sockets/wallboard", summary="The wallboard, live, opened with a socket ticket (WebSocket)",
         tags=("console",), auth=False, query=SocketQuery, responses={401: "bad ticket", 403: "role may not read it"})
async def wallboard(req: ApiRequest[Any, SocketQuery]) -> web.StreamResponse:
    return await _as_ticket_holder(req, queues_http.wallboard_stream)
