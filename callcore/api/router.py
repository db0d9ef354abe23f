"""Declares API routes once: the aiohttp routes, request validation and the OpenAPI document.

Handlers stay thin (validate, call the service, serialise): the router parses the path, query
and body into pydantic models before the handler runs, and turns a ``ValidationError`` into a
400 that names the field.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from callcore.api import xml
from callcore.api.auth import AuthChain
from callcore.api.validation import field_error, format_validation_error, parse_json
from callcore.core.context import AppContext
from callcore.core.errors import DomainError, Forbidden, Unauthorized
from callcore.core.errors_text import text_for
from callcore.core.identity import Principal

log = logging.getLogger(__name__)
# The application context every handler reaches through ``req.ctx``: the one app key.
CONTEXT = web.AppKey("callcore.context", AppContext)
B = TypeVar("B", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)


@dataclass(kw_only=True)
class ApiRequest(Generic[B, Q]):
    raw: web.Request
    principal: Principal | None
    body: B
    query: Q
    path: dict[str, str]

    @property
    def ctx(self) -> AppContext:
        return self.raw.app[CONTEXT]

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise Unauthorized("authentication required", text="未登录，请先登录")
        return self.principal


Handler = Callable[[ApiRequest[Any, Any]], Awaitable[Any]]


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A documented answer with a body of its own, beside the route's success and its errors (the
    health's 503 still carries the health; a page's 503 is a page): what ``responses`` maps a status to
    when a description alone (an error body) would not say what comes back."""

    description: str
    # A pydantic model or a type pydantic describes; no JSON body without one (a redirect). Text is a
    # string and anything else a binary file whatever the model.
    model: Any = None
    content_type: str = "application/json"


@dataclass(frozen=True, kw_only=True)
class Link:
    """A value of the route's answer that another operation takes (an OpenAPI link): ``POST /tickets``
    answers the ticket whose ``id`` ``GET /tickets/{ref}`` reads. Clients and schemathesis' stateful
    phase follow them. ``path`` is the target's as its router declares it, below the same prefix as
    the declaring route; ``parameters`` map the target's parameter names to runtime expressions
    (``$response.body#/id``)."""

    method: str
    path: str
    parameters: dict[str, str]


@dataclass(kw_only=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # What the success carries: a pydantic model, or a type pydantic describes (``list[Model]``, a dataclass).
    response: Any = None
    status: int = 200
    auth: bool = True
    roles: frozenset[str] | None = None
    responses: dict[int, str | Reply] = field(default_factory=dict)
    # The success's media types: JSON carries ``response``; text is a string, anything else a binary file.
    content_type: str | tuple[str, ...] = "application/json"
    # The element names of an XML answer (``xml.response(root, item, rows)``), for its document.
    xml_elements: tuple[str, str] | None = None
    # The body may also come as an HTML form (its text fields), as Open311 GeoReport clients post it.
    form: bool = False
    # Media types of a raw body the handler reads itself (an uploaded file): not parsed by the router.
    upload: tuple[str, ...] = ()
    # A WebSocket: the success is the upgrade (101), ``response`` the JSON of each message it sends.
    websocket: bool = False
    links: dict[str, Link] = field(default_factory=dict)
    # The OpenAPI operationId when the handler's name is not unique across the API (two capabilities'
    # ``login``): the document refuses one name for two operations.
    operation_id: str | None = None

    @property
    def operation(self) -> str:
        """The operationId: ``operation_id``, else the handler's name."""
        return self.operation_id or str(getattr(self.handler, "__name__", "handler"))

    @property
    def content_types(self) -> tuple[str, ...]:
        return (self.content_type,) if isinstance(self.content_type, str) else self.content_type


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# The largest body the API reads: aiohttp refuses a larger one with 413 when a handler reads it.
MAX_BODY_BYTES = 8 * 1024 * 1024


def utc_millis(value: datetime) -> str:
    """C-1: every time leaves the API in UTC with milliseconds, e.g. ``2026-11-23T08:00:00.123Z``."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _times(value: Any) -> Any:
    """``value`` with every datetime written by ``utc_millis``, wherever it sits: in a model, a
    dataclass, a list of either (models and dataclasses become dicts first, their datetimes still
    datetimes, so pydantic's own format never reaches the wire)."""
    if isinstance(value, datetime):
        return utc_millis(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, BaseModel):
        return _times(value.model_dump(mode="python"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _times(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_times(v) for v in value]
    return value


def dump(value: Any) -> Any:
    """A handler's result as JSON-ready data, whatever its type; one time format for every response (C-1)."""
    return to_jsonable_python(_times(value))


class Router:
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def add(self, method: str, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            roles = kw.pop("roles", None)
            links = {name: Link(method=link.method, path=self.prefix + link.path, parameters=link.parameters)
                     for name, link in kw.pop("links", {}).items()}
            self.routes.append(Route(method=method, path=self.prefix + path, handler=fn,
                                     roles=frozenset(roles) if roles else None, links=links, **kw))
            return fn

        return deco

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.add("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.add("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.add("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.add("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path, **kw)


class _Empty(BaseModel):
    pass


_EMPTY = _Empty()
AUTH_KEY = web.AppKey("callcore.auth", AuthChain)


async def _form(request: web.Request) -> dict[str, str]:
    """An HTML form's text fields; a malformed multipart body (no boundary, a part without a name)
    is the client's fault. Files are not read: no route takes them."""
    try:
        form = await request.post()
    except (ValueError, AssertionError, UnicodeDecodeError) as exc:
        raise field_error("body", "body", "表单格式不正确", f"malformed form: {exc}") from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


def bearer_token(request: web.Request) -> str | None:
    """The request's bearer token as sent; None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def bearer(request: web.Request) -> Principal | None:
    """The principal of the request's bearer token; None without one; ``Unauthorized`` for a bad one.
    Routes that also take another credential (Open311's ``api_key``) call it themselves."""
    token = bearer_token(request)
    if token is None:
        return None
    principal = await request.app[AUTH_KEY].authenticate(token)
    if principal is None:
        raise Unauthorized("invalid or expired token", text="登录已失效，请重新登录")
    return principal


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal: Principal | None = None
        if route.auth:
            principal = await bearer(request)
            if principal is None:
                raise Unauthorized("missing bearer token", text="未登录，请先登录")
            if route.roles is not None and principal.role not in route.roles:
                raise Forbidden(f"role {principal.role!r} may not {route.summary.lower()}", text="您的角色无权执行此操作")
        query: BaseModel = _EMPTY
        if route.query is not None:
            try:
                query = route.query.model_validate(dict(request.query))
            except ValidationError as exc:
                raise format_validation_error(exc, "query") from None
        body: BaseModel = _EMPTY
        if route.body is not None:
            data: Any
            if route.form and request.content_type in FORM_TYPES:
                data = await _form(request)
            else:
                data = parse_json(await request.read())
            try:
                body = route.body.model_validate(data)
            except ValidationError as exc:
                raise format_validation_error(exc, "body") from None
        result = await route.handler(
            ApiRequest(raw=request, principal=principal, body=body, query=query, path=dict(request.match_info))
        )
        if isinstance(result, web.StreamResponse):
            return result
        if result is None and route.status == 204:
            return web.Response(status=204)
        return web.json_response(dump(result), status=route.status, dumps=lambda v: json.dumps(v, ensure_ascii=False))

    handle.__name__ = route.operation
    return handle


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def answers_xml(path: str) -> bool:
    """Whether errors on ``path`` are XML: a path that asked for XML (``….xml``: Open311 GeoReport clients)."""
    return path.endswith(".xml")


def _error(request: web.Request, body: dict[str, Any], status: int,
           headers: dict[str, str] | None = None) -> web.Response:
    """JSON, or XML for a path that asked for XML."""
    if answers_xml(request.path):
        return xml.errors(status, body, headers)
    return _json(body, status, headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Every error leaves as ``{"error_id", "message" (Chinese), "detail" (English), "details"}``."""
    try:
        return await handler(request)
    except DomainError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int):
            headers = {"Retry-After": str(retry_after)}
        return _error(request, exc.to_json(), exc.status, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error_id = exc.reason.lower().replace(" ", "_")  # aiohttp's own refusals: no such path, wrong method...
        return _error(request, {"error_id": error_id, "message": text_for(error_id, exc.status), "detail": exc.reason},
                      exc.status, {k: v for k, v in exc.headers.items() if k.lower() == "allow"})
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error(request, {"error_id": "internal_error", "message": text_for("internal_error", 500),
                                "detail": "internal server error"}, 500)


def install(app: web.Application, routers: Iterable[Router]) -> list[Route]:
    routes = [r for router in routers for r in router.routes]
    for route in routes:
        app.router.add_route(route.method, route.path, _wrap(route))
    return routes
