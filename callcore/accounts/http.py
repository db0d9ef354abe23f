"""Login, logout, who am I; users (A-1), departments and the audit log (A-2), managed by admins."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from callcore.accounts import api_keys, audit, departments, users
from callcore.accounts.models import User
from callcore.accounts.sessions import SessionAuth
from callcore.api.auth import CONFIG_TOKEN_USER
from callcore.api.ratelimit import RateLimiter, TooManyRequests
from callcore.api.router import ApiRequest, Link, Router, bearer_token
from callcore.api.validation import InputModel, Instant
from callcore.core.errors import Conflict, Unauthorized
from callcore.core.privacy import mask_phone, scrub
from callcore.core.identity import ADMINS, ROLES
from callcore.core.sockets import SessionSockets

log = logging.getLogger(__name__)
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


def _mobile(value: str) -> str:
    if value and not MOBILE.fullmatch(value):
        raise PydanticCustomError("mobile", "应为 11 位手机号码（如 13912345678），或留空")
    return value


MOBILE = re.compile(r"1[3-9][0-9]{9}")
Mobile = Annotated[str, AfterValidator(_mobile), Field(max_length=11, description="a mainland mobile number, or empty")]


class UserIn(InputModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=256)
    name: str = Field(default="", max_length=64)
    role: Role
    department_id: str | None = Field(default=None, min_length=1, max_length=36)
    mobile: Mobile = ""


class UserPatch(InputModel):
    name: str | None = Field(default=None, max_length=64)
    role: Role | None = None
    department_id: str | None = Field(default=None, max_length=36)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=256)
    mobile: Mobile | None = None


class UserOut(BaseModel):
    id: str
    username: str
    name: str
    role: str
    department_id: str | None
    active: bool
    created_at: datetime
    mobile: str = Field(default="", description="masked, e.g. 139****5678")

    @classmethod
    def of(cls, user: User) -> UserOut:
        out = cls.model_validate(user, from_attributes=True)
        return out.model_copy(update={"mobile": mask_phone(user.mobile)})


class DepartmentIn(InputModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=128)
    contact: str = Field(default="", max_length=128)


class DepartmentPatch(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    contact: str | None = Field(default=None, max_length=128)
    active: bool | None = None


class DepartmentOut(BaseModel):
    id: str
    code: str
    name: str
    contact: str
    active: bool


class AuditQuery(InputModel):
    since: Instant | None = None
    user_id: str | None = Field(default=None, max_length=64)
    object_id: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class AuditOut(BaseModel):
    id: str
    at: datetime
    user_id: str
    role: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


# At most this many failed sign-ins per account and per address in this many seconds.
LOGIN_FAILURES = 5
LOGIN_WINDOW = 300.0


class LoginFailures(RateLimiter):
    """Failed sign-ins counted per account and per address: password guessing is slowed to a few tries
    per five minutes, whichever accounts or addresses it spreads over (a success forgets the account's)."""

    def __init__(self) -> None:
        super().__init__(LOGIN_FAILURES, LOGIN_WINDOW)


# -- sessions -----------------------------------------------------------------------------------

@router.post("/auth/login", summary="Log in", tags=("auth",), body=LoginIn, response=LoginOut, auth=False,
             responses={401: "bad credentials", 429: "too many failed sign-ins for this account or address"})
async def login(req: ApiRequest[LoginIn, Any]) -> LoginOut:
    sessions, failures = req.ctx.get(SessionAuth), req.ctx.get(LoginFailures)
    address = req.raw.remote or "unknown"
    # Guessing passwords: after LOGIN_FAILURES failures in LOGIN_WINDOW seconds for one account or one
    # address, every try is refused (429, Retry-After) until the window has passed, right or wrong.
    for key in (f"user:{req.body.username}", f"addr:{address}"):
        try:
            failures.check(key, count=False)
        except TooManyRequests:
            log.warning("sign-in refused, too many failures: account %s from %s", scrub(req.body.username), address)
            raise
    got = await sessions.login(req.body.username, req.body.password)
    if got is None:
        failures.hit(f"user:{req.body.username}")
        failures.hit(f"addr:{address}")
        log.info("sign-in failed: account %s from %s", scrub(req.body.username), address)
        raise Unauthorized("bad username or password", text="用户名或密码错误")
    failures.forget(f"user:{req.body.username}")
    token, expires, user = got
    return LoginOut(token=token, expires_at=expires, user_id=user.id, role=user.role, department_id=user.department_id)


@router.post("/auth/logout", summary="Log out (revoke this token)", tags=("auth",), status=204,
             responses={409: "the configuration's admin token cannot be revoked by a request"})
async def logout(req: ApiRequest[Any, Any]) -> None:
    if req.user.user_id == CONFIG_TOKEN_USER:
        # A 204 would say the token is gone while it still works: say what does revoke it.
        raise Conflict("the configuration's admin token is not a session: change CALLCORE_API_TOKEN and restart",
                       error_id="config_token", text="配置文件中的管理令牌不能注销：请更换 CALLCORE_API_TOKEN 并重启服务")
    await req.ctx.get(SessionAuth).logout(bearer_token(req.raw) or "")


@router.get("/auth/me", summary="Who am I", tags=("auth",), response=MeOut)
async def me(req: ApiRequest[Any, Any]) -> MeOut:
    u = req.user
    return MeOut(user_id=u.user_id, name=u.name, role=u.role, department_id=u.department_id)


# -- users ----------------------------------------------------------------------------------------

@router.get("/admin/users", summary="List users", tags=("admin",), response=list[UserOut], roles=ADMINS)
async def list_users(req: ApiRequest[Any, Any]) -> list[UserOut]:
    return [UserOut.of(u) for u in await users.list_users(req.ctx.db)]


@router.post("/admin/users", summary="Create a user", tags=("admin",), body=UserIn, response=UserOut, status=201,
             roles=ADMINS, responses={409: "username taken"},
             links={"change": Link(method="PATCH", path="/admin/users/{user_id}",
                                   parameters={"user_id": "$response.body#/id"})})
async def create_user(req: ApiRequest[UserIn, Any]) -> UserOut:
    u = await users.create_user(req.ctx.db, **req.body.model_dump())
    return UserOut.of(u)


@router.patch("/admin/users/{user_id}", summary="Change a user", tags=("admin",), body=UserPatch, response=UserOut,
              roles=ADMINS, responses={404: "no such user"})
async def update_user(req: ApiRequest[UserPatch, Any]) -> UserOut:
    u = await users.update_user(req.ctx.db, req.path["user_id"], sockets=req.ctx.get(SessionSockets),
                                **req.body.model_dump())
    return UserOut.of(u)


# -- departments ----------------------------------------------------------------------------------

@router.get("/departments", summary="List departments", tags=("admin",), response=list[DepartmentOut])
async def list_departments(req: ApiRequest[Any, Any]) -> list[DepartmentOut]:
    return [DepartmentOut.model_validate(d, from_attributes=True)
            for d in await departments.list_departments(req.ctx.db)]


@router.post("/departments", summary="Create a department", tags=("admin",), body=DepartmentIn,
             response=DepartmentOut, status=201, roles=ADMINS, responses={409: "code taken"},
             links={"change": Link(method="PATCH", path="/departments/{department_id}",
                                   parameters={"department_id": "$response.body#/id"})})
async def create_department(req: ApiRequest[DepartmentIn, Any]) -> DepartmentOut:
    d = await departments.create_department(req.ctx.db, **req.body.model_dump())
    return DepartmentOut.model_validate(d, from_attributes=True)


@router.patch("/departments/{department_id}", summary="Change a department", tags=("admin",), body=DepartmentPatch,
              response=DepartmentOut, roles=ADMINS, responses={404: "no such department"})
async def update_department(req: ApiRequest[DepartmentPatch, Any]) -> DepartmentOut:
    d = await departments.update_department(req.ctx.db, req.path["department_id"], **req.body.model_dump())
    return DepartmentOut.model_validate(d, from_attributes=True)


# -- audit ----------------------------------------------------------------------------------------

@router.get("/audit", summary="Audit log of whole personal values viewed (A-2)", tags=("admin",), query=AuditQuery,
            response=list[AuditOut], roles=ADMINS)
async def audit_log(req: ApiRequest[Any, AuditQuery]) -> list[AuditOut]:
    q = req.query
    rows = await audit.entries(req.ctx.db, since=q.since, user_id=q.user_id, object_id=q.object_id, limit=q.limit,
                               offset=q.offset)
    return [AuditOut.model_validate(r, from_attributes=True) for r in rows]


# -- API keys (Open311 clients) -------------------------------------------------------------------

class ApiKeyIn(InputModel):
    name: str = Field(min_length=1, max_length=64, description="who the key is for, e.g. 城管平台")
    scopes: list[Literal[api_keys.SCOPES]] = Field(min_length=1, max_length=2)  # type: ignore[valid-type]


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it")
    scopes: list[str]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="the whole key: shown this once only")


@router.get("/admin/api-keys", summary="List API keys of third-party clients", tags=("admin",),
            response=list[ApiKeyOut], roles=ADMINS)
async def list_api_keys(req: ApiRequest[Any, Any]) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k, from_attributes=True) for k in await api_keys.list_keys(req.ctx.db)]


@router.post("/admin/api-keys", summary="Issue an API key (Open311 api_key)", tags=("admin",), body=ApiKeyIn,
             response=ApiKeyIssued, status=201, roles=ADMINS,
             links={"revoke": Link(method="DELETE", path="/admin/api-keys/{key_id}",
                                   parameters={"key_id": "$response.body#/id"})})
async def issue_api_key(req: ApiRequest[ApiKeyIn, Any]) -> ApiKeyIssued:
    row, key = await api_keys.issue(req.ctx.db, name=req.body.name, scopes=list(req.body.scopes),
                                    created_by=req.user.user_id)
    log.info("api key %s (%s) issued by %s, scopes %s", row.prefix, row.name, req.user.user_id, row.scopes)
    return ApiKeyIssued(**ApiKeyOut.model_validate(row, from_attributes=True).model_dump(), key=key)


@router.delete("/admin/api-keys/{key_id}", summary="Revoke an API key", tags=("admin",), response=ApiKeyOut,
               roles=ADMINS, responses={404: "no such key"})
async def revoke_api_key(req: ApiRequest[Any, Any]) -> ApiKeyOut:
    row = await api_keys.revoke(req.ctx.db, req.path["key_id"])
    log.info("api key %s (%s) revoked by %s", row.prefix, row.name, req.user.user_id)
    return ApiKeyOut.model_validate(row, from_attributes=True)
