"""Intake compatible with Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the service
list is the categories, a request creates a web ticket, a request is read back by its number.

GeoReport clients post form-encoded bodies; JSON is accepted too. The bearer token of the API
stands in for the standard's ``api_key``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from callcore.api.errors import InvalidInput, NotFound
from callcore.api.validation import InputModel
from callcore.api.router import ApiRequest, Router, format_validation_error
from callcore.tickets.models import Category
from callcore.tickets.service import NewTicket
from callcore.tickets.wiring import TICKETS

router = Router("/api/v1/open311/v2")
CREATE_PATH = "/api/v1/open311/v2/requests.json"


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str = ""
    group: str = "96881"


class RequestIn(InputModel):
    model_config = {"extra": "ignore"}  # GeoReport clients send api_key, jurisdiction_id, attribute[...]
    service_code: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str = Field(default="", max_length=256)
    first_name: str = Field(default="", max_length=32)
    last_name: str = Field(default="", max_length=32)
    phone: str = Field(default="", pattern=r"^(\+?[0-9]{3,20})?$")
    email: str = Field(default="", max_length=128)


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
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: str
    address: str
    lat: float | None
    long: float | None


def document_form_bodies(doc: dict[str, Any]) -> None:
    """The router documents JSON bodies only; the create operation also takes a form."""
    op = doc.get("paths", {}).get(CREATE_PATH, {}).get("post")
    if op is None:
        return
    schema = RequestIn.model_json_schema()
    doc["components"]["schemas"]["Open311RequestIn"] = schema
    ref = {"$ref": "#/components/schemas/Open311RequestIn"}
    op["requestBody"] = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": ref},
                                                       "application/json": {"schema": ref}}}
    op["responses"].setdefault("400", {"description": "error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}})


@router.get("/services.json", summary="Open311: service list", tags=("open311",))
async def services(req: ApiRequest[Any, Any]) -> list[ServiceOut]:
    service = req.app[TICKETS]
    await service.deadlines()
    async with service.db.session() as s:
        cats = await s.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))
        return [ServiceOut(service_code=c.code, service_name=c.name,
                           description=f"{c.name}（办理时限{c.limit_days}个工作日）" if c.limit_days else f"{c.name}（当日办理）")
                for c in cats]


async def _body(req: ApiRequest[Any, Any]) -> dict[str, Any]:
    raw = req.raw
    if raw.content_type == "application/x-www-form-urlencoded" or raw.content_type == "multipart/form-data":
        return {k: v for k, v in (await raw.post()).items() if isinstance(v, str)}
    try:
        data = json.loads(await raw.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body: not valid JSON or form", details=[
            {"field": "body", "in": "body", "message": "not valid JSON or form"}]) from None
    if not isinstance(data, dict):
        raise InvalidInput("body: expected an object", details=[
            {"field": "body", "in": "body", "message": "expected an object"}])
    return data


@router.post("/requests.json", summary="Open311: create a service request", tags=("open311",), status=201,
             roles=("agent", "dispatcher", "supervisor", "admin"))
async def create_request(req: ApiRequest[Any, Any]) -> list[RequestCreated]:
    try:
        body = RequestIn.model_validate(await _body(req))
    except ValidationError as exc:
        raise format_validation_error(exc, "body") from None
    name = " ".join(p for p in (body.last_name, body.first_name) if p)
    t, _ = await req.app[TICKETS].create(req.user, NewTicket(
        category=body.service_code, content=body.description, channel="open311", caller_name=name, phone=body.phone,
        address=body.address_string, lat=body.lat, lon=body.long))
    return [RequestCreated(service_request_id=t.number,
                           service_notice=f"已受理，查询码{t.query_code}，办理时限{t.due_date.isoformat()}")]


@router.get(r"/requests/{service_request_id:[0-9]+}.json", summary="Open311: get a service request",
            tags=("open311",), responses={404: "no such request"})
async def get_request(req: ApiRequest[Any, Any]) -> list[RequestOut]:
    number = req.path["service_request_id"]
    service = req.app[TICKETS]
    view = await service.get(req.user, number) if len(number) <= 20 else None
    if view is None:
        raise NotFound(f"request {number} not found")
    t = view.ticket
    async with service.db.session() as s:
        cat = await s.get(Category, t.category)
    closed = t.status in ("closed", "archived", "rejected", "merged")
    return [RequestOut(service_request_id=t.number, status="closed" if closed else "open",
                       status_notes=t.reply if closed else "", service_name=cat.name if cat else t.category,
                       service_code=t.category, description=t.content, requested_datetime=t.received_at,
                       updated_datetime=t.updated_at, expected_datetime=t.due_date.isoformat(), address=t.address,
                       lat=t.lat, long=t.lon)]


__all__ = ["router", "document_form_bodies"]
