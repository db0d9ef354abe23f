"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the service list, filing a request,
reading requests back one by one or with the standard's filters, each in JSON and in XML.

Who calls: a third-party client with its ``api_key`` (issued by an admin, scoped ``read`` /
``create``, revocable: ``callcore.accounts.api_keys``), or staff with their bearer token (which wins
when both are sent). The service list is public, as in the standard. GeoReport clients post
form-encoded bodies; JSON is accepted too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from callcore.accounts import api_keys
from callcore.api import xml
from callcore.api.router import ApiRequest, Link, Router, bearer, dump
from callcore.api.validation import InputModel, Instant
from callcore.core.errors import Forbidden, Unauthorized
from callcore.core.identity import CENTER, Principal
from callcore.tickets import open311
from callcore.tickets.services import TicketService

router = Router("/api/v1/open311/v2")
FORMATS = ("json", "xml")
# The XML answers' root and item elements.
SERVICES = ("services", "service")
REQUESTS = ("service_requests", "request")


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str = ""
    group: str = "96881"


class Open311RequestIn(InputModel):
    model_config = {"extra": "ignore"}  # GeoReport clients send jurisdiction_id, attribute[...], device_id ...
    api_key: str = Field(default="", max_length=100, description="the client's key (scope create)")
    service_code: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str = Field(default="", max_length=256)
    first_name: str = Field(default="", max_length=32)
    last_name: str = Field(default="", max_length=32)
    phone: str = Field(default="", pattern=r"^(\+?[0-9]{3,20})?$")
    email: str = Field(default="", max_length=128)


class KeyQuery(InputModel):
    model_config = {"extra": "ignore"}  # jurisdiction_id and the like
    api_key: str = Field(default="", max_length=100, description="the client's key (scope read)")


def _list(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


class RequestsQuery(KeyQuery):
    service_request_id: str = Field(default="", max_length=2100, description="comma-separated request ids")
    service_code: str = Field(default="", max_length=1000, description="comma-separated service codes")
    start_date: Instant | None = Field(default=None, description="requested on or after (W3C date-time)")
    end_date: Instant | None = Field(default=None, description="requested on or before (W3C date-time)")
    status: str = Field(default="", max_length=16, description="open, closed, or both comma-separated")

    @field_validator("service_request_id")
    @classmethod
    def _ids(cls, value: str) -> str:
        ids = _list(value)
        if len(ids) > 100 or not all(i.isascii() and i.isdigit() and len(i) <= 20 for i in ids):
            raise ValueError("应为逗号分隔的工单号（数字，至多 100 个）")
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if not set(_list(value)) <= {"open", "closed"}:
            raise ValueError("应为 open、closed 或二者以逗号分隔")
        return value


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None
    token: str | None = None


class RequestOut(BaseModel):
    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str = "96881"
    service_notice: str = ""
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: str
    address: str
    address_id: str = ""
    zipcode: str = ""
    lat: float | None
    long: float | None
    media_url: str = ""


async def _client(req: ApiRequest[Any, Any], api_key: str, scope: str) -> Principal:
    """Staff by bearer token, else a client by ``api_key`` with ``scope``."""
    staff = await bearer(req.raw)
    if staff is not None:
        if scope == api_keys.CREATE and staff.role not in CENTER:
            raise Forbidden(f"role {staff.role!r} may not file requests", text="您的角色无权提交服务请求")
        return staff
    if not api_key:
        raise Unauthorized("api_key or bearer token required", text="缺少接口密钥（api_key）")
    client = await api_keys.authenticate(req.ctx.db, api_key)
    client.need(scope)
    return client.principal


def _out(r: open311.Request) -> RequestOut:
    return RequestOut(service_request_id=r.number, status="closed" if r.closed else "open", status_notes=r.notes,
                      service_name=r.service_name, service_code=r.service_code, description=r.description,
                      requested_datetime=r.requested_at, updated_datetime=r.updated_at,
                      expected_datetime=r.expected_on.isoformat(), address=r.address, lat=r.lat, long=r.lon)


def _answer(fmt: str, root: str, item: str, rows: list[Any], status: int = 200) -> Any:
    """The rows as the JSON list the router serialises, or as GeoReport XML."""
    if fmt == "json":
        return rows
    return xml.response(root, item, [dump(r) for r in rows], status=status)


Handler = Callable[[ApiRequest[Any, Any]], Awaitable[Any]]


def _named(fn: Handler, name: str) -> Handler:
    fn.__name__ = name  # one operation id per format in the OpenAPI document
    return fn


def _services(fmt: str) -> Handler:
    async def services(req: ApiRequest[Any, Any]) -> Any:
        return _answer(fmt, *SERVICES, [
            ServiceOut(service_code=s.code, service_name=s.name, description=s.description)
            for s in await open311.service_types(req.ctx.get(TicketService))])
    return _named(services, f"open311_services_{fmt}")


def _create(fmt: str) -> Handler:
    async def create_request(req: ApiRequest[Open311RequestIn, Any]) -> Any:
        b = req.body
        who = await _client(req, b.api_key, api_keys.CREATE)
        t = await open311.create_request(
            req.ctx.get(TicketService), who, service_code=b.service_code, description=b.description,
            first_name=b.first_name, last_name=b.last_name, phone=b.phone, address=b.address_string, lat=b.lat,
            lon=b.long)
        created = [RequestCreated(service_request_id=t.number, service_notice=open311.notice(t))]
        return _answer(fmt, *REQUESTS, created, status=201)
    return _named(create_request, f"open311_create_request_{fmt}")


def _list_requests(fmt: str) -> Handler:
    async def list_requests(req: ApiRequest[Any, RequestsQuery]) -> Any:
        q = req.query
        who = await _client(req, q.api_key, api_keys.READ)
        statuses = _list(q.status)
        found = await open311.requests(req.ctx.db, who, open311.RequestFilter(
            numbers=_list(q.service_request_id), service_codes=_list(q.service_code), start=q.start_date,
            end=q.end_date, status=statuses[0] if len(statuses) == 1 else None))
        return _answer(fmt, *REQUESTS, [_out(r) for r in found])
    return _named(list_requests, f"open311_list_requests_{fmt}")


def _get_request(fmt: str) -> Handler:
    async def get_request(req: ApiRequest[Any, KeyQuery]) -> Any:
        who = await _client(req, req.query.api_key, api_keys.READ)
        r = await open311.request(req.ctx.get(TicketService), who, req.path["service_request_id"])
        return _answer(fmt, *REQUESTS, [_out(r)])
    return _named(get_request, f"open311_get_request_{fmt}")


_KEY_ERRORS = {401: "no or bad api_key", 403: "the key lacks the scope"}


def _as(fmt: str, elements: tuple[str, str]) -> dict[str, Any]:
    """The route's media type: JSON, or XML with its elements (for the OpenAPI document)."""
    return {"content_type": xml.CONTENT_TYPE, "xml_elements": elements} if fmt == "xml" else {}


# The JSON answer's request number, for a client that reads the request back (XML is not read so).
_READ_BACK = {"request": Link(method="GET", path="/requests/{service_request_id}.json",
                              parameters={"service_request_id": "$response.body#/0/service_request_id"})}

for _fmt in FORMATS:
    router.get(f"/services.{_fmt}", summary=f"Open311: service list ({_fmt}), public", tags=("open311",), auth=False,
               query=KeyQuery, response=list[ServiceOut], **_as(_fmt, SERVICES))(_services(_fmt))
    router.post(f"/requests.{_fmt}", summary=f"Open311: file a service request ({_fmt})", tags=("open311",),
                status=201, body=Open311RequestIn, form=True, auth=False, responses=_KEY_ERRORS,
                response=list[RequestCreated], links=_READ_BACK if _fmt == "json" else {},
                **_as(_fmt, REQUESTS))(_create(_fmt))
    router.get(f"/requests.{_fmt}", summary=f"Open311: service requests, filtered ({_fmt})", tags=("open311",),
               query=RequestsQuery, auth=False, responses=_KEY_ERRORS, response=list[RequestOut],
               **_as(_fmt, REQUESTS))(_list_requests(_fmt))
    router.get(rf"/requests/{{service_request_id:[0-9]+}}.{_fmt}", summary=f"Open311: one service request ({_fmt})",
               tags=("open311",), query=KeyQuery, auth=False, responses={**_KEY_ERRORS, 404: "no such request"},
               response=list[RequestOut], **_as(_fmt, REQUESTS))(_get_request(_fmt))
