"""Intake compatible with Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the service
list is the categories, a request creates a ticket, a request is read back by its number.

GeoReport clients post form-encoded bodies; JSON is accepted too. The bearer token of the API
stands in for the standard's ``api_key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from callcore.api.router import ApiRequest, Router
from callcore.api.validation import InputModel
from callcore.core.identity import CENTER
from callcore.tickets import open311
from callcore.tickets.services import TicketService

router = Router("/api/v1/open311/v2")


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str = ""
    group: str = "96881"


class Open311RequestIn(InputModel):
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


@router.get("/services.json", summary="Open311: service list", tags=("open311",))
async def services(req: ApiRequest[Any, Any]) -> list[ServiceOut]:
    return [ServiceOut(service_code=s.code, service_name=s.name, description=s.description)
            for s in await open311.service_types(req.ctx.get(TicketService))]


@router.post("/requests.json", summary="Open311: create a service request", tags=("open311",), status=201,
             body=Open311RequestIn, form=True, roles=CENTER)
async def create_request(req: ApiRequest[Open311RequestIn, Any]) -> list[RequestCreated]:
    b = req.body
    t = await open311.create_request(
        req.ctx.get(TicketService), req.user, service_code=b.service_code, description=b.description,
        first_name=b.first_name, last_name=b.last_name, phone=b.phone, address=b.address_string, lat=b.lat,
        lon=b.long)
    return [RequestCreated(service_request_id=t.number, service_notice=open311.notice(t))]


@router.get(r"/requests/{service_request_id:[0-9]+}.json", summary="Open311: get a service request",
            tags=("open311",), responses={404: "no such request"})
async def get_request(req: ApiRequest[Any, Any]) -> list[RequestOut]:
    r = await open311.request(req.ctx.get(TicketService), req.user, req.path["service_request_id"])
    return [RequestOut(service_request_id=r.number, status="closed" if r.closed else "open", status_notes=r.notes,
                       service_name=r.service_name, service_code=r.service_code, description=r.description,
                       requested_datetime=r.requested_at, updated_datetime=r.updated_at,
                       expected_datetime=r.expected_on.isoformat(), address=r.address, lat=r.lat, long=r.lon)]
