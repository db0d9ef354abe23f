"""Login, logout, who am I; and users managed by admins (A-1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from callcore.accounts import users
from callcore.api.auth import ROLES
from callcore.api.errors import Unauthorized
from callcore.api.validation import InputModel
from callcore.api.router import ApiRequest, Router
from callcore.tickets.wiring import SESSIONS

router = Router("/api/v1")
Role = Literal[ROLES]  # type: ignore[valid-type]


class LoginIn(InputModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    user_id: str
    role: str
    department_id: str | None


class MeOut(BaseModel):
    user_id: str
    name: str
    role: str
    department_id: str | None


class UserIn(InputModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=256)
    name: str = Field(default="", max_length=64)
    role: Role
    department_id: str | None = Field(default=None, min_length=1, max_length=36)


class UserPatch(InputModel):
    name: str | None = Field(default=None, max_length=64)
    role: Role | None = None
    department_id: str | None = Field(default=None, max_length=36)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=256)


class UserOut(BaseModel):
    id: str
    username: str
    name: str
    role: str
    department_id: str | None
    active: bool
    created_at: datetime


@router.post("/auth/login", summary="Log in", tags=("auth",), body=LoginIn, response=LoginOut, auth=False,
             responses={401: "bad credentials"})
async def login(req: ApiRequest[LoginIn, Any]) -> LoginOut:
    got = await req.app[SESSIONS].login(req.body.username, req.body.password)
    if got is None:
        raise Unauthorized("bad username or password")
    token, expires, user = got
    return LoginOut(token=token, expires_at=expires, user_id=user.id, role=user.role, department_id=user.department_id)


@router.post("/auth/logout", summary="Log out (revoke this token)", tags=("auth",), status=204)
async def logout(req: ApiRequest[Any, Any]) -> None:
    _ = req.user
    token = req.raw.headers.get("Authorization", "").partition(" ")[2].strip()
    await req.app[SESSIONS].logout(token)


@router.get("/auth/me", summary="Who am I", tags=("auth",), response=MeOut)
async def me(req: ApiRequest[Any, Any]) -> MeOut:
    u = req.user
    return MeOut(user_id=u.user_id, name=u.name, role=u.role, department_id=u.department_id)


@router.get("/admin/users", summary="List users", tags=("admin",), roles=("admin",))
async def list_users(req: ApiRequest[Any, Any]) -> list[UserOut]:
    return [UserOut.model_validate(u, from_attributes=True) for u in await users.list_users(req.app[SESSIONS].db)]


@router.post("/admin/users", summary="Create a user", tags=("admin",), body=UserIn, response=UserOut, status=201,
             roles=("admin",), responses={409: "username taken"})
async def create_user(req: ApiRequest[UserIn, Any]) -> UserOut:
    u = await users.create_user(req.app[SESSIONS].db, **req.body.model_dump())
    return UserOut.model_validate(u, from_attributes=True)


@router.patch("/admin/users/{user_id}", summary="Change a user", tags=("admin",), body=UserPatch, response=UserOut,
              roles=("admin",), responses={404: "no such user"})
async def update_user(req: ApiRequest[UserPatch, Any]) -> UserOut:
    sessions = req.app[SESSIONS]
    u = await users.update_user(sessions.db, req.path["user_id"], **req.body.model_dump())
    if req.body.active is False or req.body.password or req.body.role or req.body.department_id is not None:
        await sessions.revoke_user(u.id)  # rights changed: log the user out everywhere
    return UserOut.model_validate(u, from_attributes=True)
