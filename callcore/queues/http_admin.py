"""Agents managed by admins (issue 9): numbers (工号), names, the user who answers as the agent,
and SIP passwords, each shown once in the answer that sets it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import InputModel
from callcore.core.errors import InvalidInput
from callcore.core.identity import ADMINS
from callcore.queues.directory import KEEP, NAME_MAX, NUMBER, AgentDirectory, AgentRecord, IssuedPassword

router = Router("/api/v1")
NUMBER_RULE = "an agent number (工号) is 3 to 8 digits"


class AgentIn(InputModel):
    number: str = Field(description="the agent number (工号): 3 to 8 digits, also the SIP user name", examples=["1001"],
                        json_schema_extra={"pattern": f"^{NUMBER.pattern}$"})
    name: str = Field(min_length=1, max_length=NAME_MAX, description="the caller-id name agents' phones show")
    user_id: str | None = Field(default=None, min_length=1, max_length=36, description="a user of role agent")

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        if not NUMBER.fullmatch(value):
            raise ValueError(NUMBER_RULE)
        return value


class AgentPatch(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    user_id: str | None = Field(default=None, min_length=1, max_length=36,
                                description="a user of role agent; null removes the link")
    active: bool | None = Field(default=None, description="false removes the agent's SIP endpoint from Asterisk")


class AgentOut(BaseModel):
    id: str
    number: str
    name: str
    user_id: str | None
    username: str | None
    active: bool
    created_at: datetime


class AgentWithPassword(AgentOut):
    sip_password: str = Field(description="shown this once: only its digest is stored")


# What an admin (or the agent) does next with an agent just made: see it, change it, log it in.
AGENT_LINKS = {
    name: Link(method=method, path=path, parameters={"number": "$response.body#/number"})
    for name, method, path in (
        ("agent", "GET", "/agents/{number}"), ("change", "PATCH", "/agents/{number}"),
        ("sip_password", "POST", "/agents/{number}/sip-password"), ("state", "GET", "/agents/{number}/state"),
        ("login", "POST", "/agents/{number}/login"), ("pause", "POST", "/agents/{number}/pause"),
        ("resume", "POST", "/agents/{number}/resume"), ("ready", "POST", "/agents/{number}/ready"),
        ("logout", "POST", "/agents/{number}/logout"))
}


def _out(record: AgentRecord) -> AgentOut:
    return AgentOut.model_validate(record, from_attributes=True)


def _issued(issued: IssuedPassword) -> AgentWithPassword:
    return AgentWithPassword(**_out(issued.agent).model_dump(), sip_password=issued.password)


def _number(raw: str) -> str:
    if not NUMBER.fullmatch(raw):
        raise InvalidInput(f"number: {NUMBER_RULE}", details=[{"field": "number", "in": "path", "message": NUMBER_RULE}])
    return raw


@router.post("/agents", summary="Create an agent with a new SIP password", tags=("agents",), body=AgentIn,
             response=AgentWithPassword, status=201, roles=ADMINS,
             responses={409: "number taken, or the user is already an agent"}, links=AGENT_LINKS)
async def create_agent(req: ApiRequest[AgentIn, Any]) -> AgentWithPassword:
    b = req.body
    issued = await req.ctx.get(AgentDirectory).create(b.number, b.name, user_id=b.user_id, by=req.user)
    return _issued(issued)


@router.get("/agents", summary="List agents", tags=("agents",), response=list[AgentOut], roles=ADMINS)
async def list_agents(req: ApiRequest[Any, Any]) -> list[dict[str, Any]]:
    # As dicts: the router's one time format (UTC, milliseconds) reaches into dicts, not models in a list.
    return [_out(a).model_dump() for a in await req.ctx.get(AgentDirectory).list_agents()]


@router.get("/agents/{number}", summary="An agent", tags=("agents",), response=AgentOut, roles=ADMINS,
            responses={404: "no such agent"})
async def get_agent(req: ApiRequest[Any, Any]) -> AgentOut:
    return _out(await req.ctx.get(AgentDirectory).get(_number(req.path["number"])))


@router.patch("/agents/{number}", summary="Rename, link to a user, deactivate or reactivate an agent",
              tags=("agents",), body=AgentPatch, response=AgentOut, roles=ADMINS,
              responses={404: "no such agent", 409: "the user is already another agent"})
async def update_agent(req: ApiRequest[AgentPatch, Any]) -> AgentOut:
    number, b = _number(req.path["number"]), req.body
    if "active" in b.model_fields_set and b.active is None:
        raise InvalidInput("active: must be true or false",
                           details=[{"field": "active", "in": "body", "message": "must be true or false"}])
    if "name" in b.model_fields_set and b.name is None:
        raise InvalidInput("name: must not be null",
                           details=[{"field": "name", "in": "body", "message": "must not be null"}])
    user_id = b.user_id if "user_id" in b.model_fields_set else KEEP
    record = await req.ctx.get(AgentDirectory).update(number, name=b.name, user_id=user_id, active=b.active)
    return _out(record)


@router.post("/agents/{number}/sip-password", summary="Give an agent a new SIP password (the old one stops working)",
             tags=("agents",), response=AgentWithPassword, roles=ADMINS, responses={404: "no such agent"})
async def rotate_sip_password(req: ApiRequest[Any, Any]) -> AgentWithPassword:
    number = _number(req.path["number"])
    return _issued(await req.ctx.get(AgentDirectory).rotate_password(number, by=req.user))
