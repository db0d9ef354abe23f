"""Declares API routes once: the aiohttp routes, request validation and the OpenAPI document.

Handlers stay thin (validate, call the service, serialise): the router parses the path, query
and body into pydantic models before the handler runs, and turns a ``ValidationError`` into a
400 that names the field.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from callcore.api.auth import AuthChain
from callcore.core.context import AppContext
from callcore.core.errors import DomainError, Forbidden, InvalidInput, Unauthorized
from callcore.core.identity import Principal

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
            raise Unauthorized("authentication required")
        return self.principal


Handler = Callable[[ApiRequest[Any, Any]], Awaitable[Any]]


@dataclass(kw_only=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    roles: frozenset[str] | None = None
    responses: dict[int, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # The body may also come as an HTML form (its text fields), as Open311 GeoReport clients post it.
    form: bool = False


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def format_validation_error(exc: ValidationError, where: str) -> InvalidInput:
    fields = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or where
        fields.append({"field": loc, "in": where, "message": err["msg"]})
    first = fields[0]
    return InvalidInput(f"{first['field']}: {first['message']}", details=fields)


def utc_millis(value: datetime) -> str:
    """C-1: every time leaves the API in UTC with milliseconds, e.g. ``2026-11-23T08:00:00.123Z``."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _times(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_millis(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_times(v) for v in value]
    return value


def dump(value: Any) -> Any:
    """A handler's result as JSON-ready data; one time format for every response."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    return to_jsonable_python(_times(value))


class Router:
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def add(self, method: str, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            roles = kw.pop("roles", None)
            self.routes.append(
                Route(method=method, path=self.prefix + path, handler=fn, roles=frozenset(roles) if roles else None, **kw)
            )
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


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal: Principal | None = None
        if route.auth:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("missing bearer token")
            principal = await request.app[AUTH_KEY].authenticate(token.strip())
            if principal is None:
                raise Unauthorized("invalid or expired token")
            if route.roles is not None and principal.role not in route.roles:
                raise Forbidden(f"role {principal.role!r} may not {route.summary.lower()}")
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
                data = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
            else:
                try:
                    data = json.loads(await request.read() or b"null")
                except (ValueError, UnicodeDecodeError):
                    raise InvalidInput("body: not valid JSON", details=[{"field": "body", "in": "body", "message": "not valid JSON"}]) from None
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

    handle.__name__ = getattr(route.handler, "__name__", "handler")
    return handle


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int):
            headers = {"Retry-After": str(retry_after)}
        return web.json_response(exc.to_json(), status=exc.status, headers=headers, dumps=lambda v: json.dumps(v, ensure_ascii=False))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(
            {"error_id": exc.reason.lower().replace(" ", "_"), "message": exc.reason}, status=exc.status, headers={
                k: v for k, v in exc.headers.items() if k.lower() == "allow"
            }
        )


def install(app: web.Application, routers: Iterable[Router]) -> list[Route]:
    routes = [r for router in routers for r in router.routes]
    for route in routes:
        app.router.add_route(route.method, route.path, _wrap(route))
    return routes
