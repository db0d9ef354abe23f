"""The console's routes: the built app under ``/console/``, and the browser-facing helpers under
``/api/v1/console/`` (who am I with my agent number; WebSocket tickets and the feeds they open;
audio tickets and the recordings' audio they play in an ``<audio>`` element; the S-1 statistics
as a spreadsheet to download).

The feeds and the audio themselves are the queues' and the recordings' handlers, called with the
ticket holder's principal, after the same role check their own routes declare: the console adds
a way in, not a second implementation or a wider audience. A ticket is only as good as the login
that asked for it: each use authenticates that bearer token again (``_holder``), so logging out
ends the session's tickets too, and a feed a ticket opened is held under that login, so it closes
when the login ends.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcore.api import stream
from callcore.api.router import AUTH_KEY, ApiRequest, Handler, Reply, Router, bearer_token
from callcore.api.validation import InputModel
from callcore.console.assets import ConsoleAssets
from callcore.console.stats_export import department_stats_file
from callcore.console.tickets import AudioTickets, Grant, SocketTickets
from callcore.core.errors import DomainError, Forbidden, NotFound, ServiceUnavailable, Unauthorized
from callcore.core.identity import STATS_READERS, Principal
from callcore.queues import http as queues_http
from callcore.queues.directory import AgentDirectory
from callcore.recordings import http as recordings_http
from callcore.recordings.services import RecordingService
from callcore.tickets import stats
from callcore.tickets.export import XLSX
from callcore.tickets.http_admin import StatsQuery

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


class ConsoleMe(BaseModel):
    user_id: str
    name: str
    role: str
    department_id: str | None
    agent_number: str | None = Field(description="the agent number this user answers calls as, if any")


class SocketTicketOut(BaseModel):
    ticket: str
    expires_in: float


class SocketQuery(InputModel):
    ticket: str = Field(min_length=8, max_length=64)


class AudioTicketIn(InputModel):
    recording_id: str = Field(min_length=1, max_length=36, pattern=recordings_http.ID)


class AudioTicketOut(BaseModel):
    ticket: str
    url: str = Field(description="the ``<audio src>``: the recording's WAV (HTTP ranges), played with this ticket")
    expires_in: float = Field(description="seconds to start playing; each request then keeps it for a while")


# -- the app ---------------------------------------------------------------------------------------

@static.get("/console", summary="The browser console (redirect)", tags=("console",), auth=False,
            content_type="text/html", responses={302: Reply(description="to /console/, the app's page")})
async def console_root(req: ApiRequest[Any, Any]) -> web.StreamResponse:
    raise web.HTTPFound("/console/")


@static.get("/console/{path:.*}", summary="The browser console: the app and its files", tags=("console",),
            auth=False, content_type=("text/html", "*/*"),
            responses={404: "no such file of the build (an older build's?)",
                       503: Reply(description="the console is not built", content_type="text/html")})
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

@api.get("/me", summary="Who am I, with my agent number (the console's start)", tags=("console",),
         response=ConsoleMe, operation_id="console_me")
async def me(req: ApiRequest[Any, Any]) -> ConsoleMe:
    u = req.user
    number: str | None = None
    try:
        number = (await req.ctx.get(AgentDirectory).for_user(u.user_id)).number
    except (NotFound, ServiceUnavailable):
        number = None
    return ConsoleMe(user_id=u.user_id, name=u.name, role=u.role, department_id=u.department_id,
                     agent_number=number)


def _grant(req: ApiRequest[Any, Any]) -> Grant:
    """A ticket's holder: the user, and the bearer token they asked with (these routes take no other)."""
    token = bearer_token(req.raw)
    if token is None:
        raise Unauthorized("missing bearer token")
    return Grant(principal=req.user, credential=token)


async def _holder(req: ApiRequest[Any, Any], grant: Grant | None) -> Principal | None:
    """The ticket's holder as they are now: None once the login that asked for the ticket no longer
    authenticates (logged out, expired, the user deactivated), so no ticket outlives its session."""
    if grant is None:
        return None
    now = await req.raw.app[AUTH_KEY].authenticate(grant.credential)
    return now if now is not None and now.user_id == grant.principal.user_id else None


@api.post("/socket-tickets", summary="A one-time ticket to open a console WebSocket", tags=("console",),
          response=SocketTicketOut, status=201)
async def socket_ticket(req: ApiRequest[Any, Any]) -> SocketTicketOut:
    tickets = req.ctx.get(SocketTickets)
    return SocketTicketOut(ticket=tickets.issue(_grant(req)), expires_in=tickets.ttl)


def _roles_of(handler: Handler) -> frozenset[str] | None:
    for route in (*queues_http.router.routes, *recordings_http.router.routes):
        if route.handler is handler:
            return route.roles
    raise RuntimeError(f"{handler.__name__} is not a queues or recordings route")


async def _as_ticket_holder(req: ApiRequest[Any, SocketQuery], handler: Handler) -> web.StreamResponse:
    grant = req.ctx.get(SocketTickets).redeem(req.query.ticket)
    principal = await _holder(req, grant)
    if grant is None or principal is None:
        raise Unauthorized("invalid, used or expired socket ticket, or its login ended")
    roles = _roles_of(handler)
    if roles is not None and principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not open this feed")
    # The feed is the login's: held under its token, it closes when that login ends (``stream.feed``).
    req.raw[stream.CREDENTIAL] = grant.credential
    inner = ApiRequest(raw=req.raw, principal=principal, body=req.body, query=req.query, path=req.path)
    result = await handler(inner)
    if not isinstance(result, web.StreamResponse):
        raise DomainError("the feed did not open a WebSocket")
    return result


@api.get("/sockets/agents/{number}/events", summary="An agent's live feed, opened with a socket ticket (WebSocket)",
         tags=("console",), auth=False, query=SocketQuery, websocket=True, response=queues_http.AgentFeedMessage,
         responses={401: "bad ticket", 403: "not this agent", **queues_http.NO_AGENT},
         operation_id="console_agent_events")
async def agent_events(req: ApiRequest[Any, SocketQuery]) -> web.StreamResponse:
    return await _as_ticket_holder(req, queues_http.agent_events)


@api.get("/sockets/wallboard", summary="The wallboard, live, opened with a socket ticket (WebSocket)",
         tags=("console",), auth=False, query=SocketQuery, websocket=True, response=queues_http.WallboardOut,
         responses={401: "bad ticket", 403: "role may not read it"})
async def wallboard(req: ApiRequest[Any, SocketQuery]) -> web.StreamResponse:
    return await _as_ticket_holder(req, queues_http.wallboard_stream)


# -- audio -----------------------------------------------------------------------------------------

@api.post("/audio-tickets", summary="A ticket to play one recording in an <audio> element", tags=("console",),
          body=AudioTicketIn, response=AudioTicketOut, status=201, roles=_roles_of(recordings_http.recording_wav),
          responses={404: "no such recording, or not one this user may hear"})
async def audio_ticket(req: ApiRequest[AudioTicketIn, Any]) -> AudioTicketOut:
    # Who hears which is the recordings service's: a recording this user may not hear is a 404 now.
    rec_id = (await req.ctx.get(RecordingService).get(req.user, req.body.recording_id)).row.id
    tickets = req.ctx.get(AudioTickets)
    ticket = tickets.issue(_grant(req), rec_id)
    return AudioTicketOut(ticket=ticket, url=f"{api.prefix}/recordings/{rec_id}/audio?ticket={ticket}",
                          expires_in=tickets.ttl)


@api.get("/recordings/{id}/audio", summary="A recording's WAV for an <audio> element, with an audio ticket (audited)",
         tags=("console",), auth=False, query=SocketQuery, content_type="audio/wav",
         responses={**recordings_http.range_replies("audio/wav"), 401: "bad ticket", 403: "role may not hear it",
                    **recordings_http.AUDIO_ERRORS})
async def recording_audio(req: ApiRequest[Any, SocketQuery]) -> web.StreamResponse:
    tickets = req.ctx.get(AudioTickets)
    grant = tickets.use(req.query.ticket, req.path["id"])
    principal = await _holder(req, grant)
    if principal is None:
        if grant is not None:
            tickets.revoke(req.query.ticket)  # its login ended: the player's next range finds nothing either
        raise Unauthorized("invalid or expired audio ticket, for another recording, or its login ended")
    handler = recordings_http.recording_wav
    roles = _roles_of(handler)
    if roles is not None and principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not hear recordings")
    # The recordings' own handler: the same file, ranges, headers and audit (a play, once per play).
    inner = ApiRequest(raw=req.raw, principal=principal, body=req.body, query=recordings_http.AudioQuery(),
                       path={"id": req.path["id"]})
    result: web.StreamResponse = await handler(inner)
    return result


# -- downloads -------------------------------------------------------------------------------------

@api.get("/stats/departments/export", summary="S-1 per department and period as an XLSX file", tags=("console",),
         query=StatsQuery, roles=STATS_READERS, content_type=XLSX)
async def department_stats_export(req: ApiRequest[Any, StatsQuery]) -> web.Response:
    q = req.query
    f = department_stats_file(await stats.for_period(req.ctx.db, q.start, q.end, q.department_id), q.start, q.end)
    return web.Response(body=f.body, content_type=f.content_type, charset=f.charset,
                        headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})
