"""Reference data admins manage (departments, categories and deadlines, calendar overrides), the
audit log, and the S-1 statistics."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callcore.accounts import audit
from callcore.api.errors import Conflict, InvalidInput, NotFound
from callcore.api.validation import Day, InputModel, Instant
from callcore.api.router import ApiRequest, Router
from callcore.store.base import utcnow
from callcore.tickets import stats
from callcore.tickets.calendar import LOCAL_TZ, covered, local_date
from callcore.tickets.models import CalendarOverride, Category, Department
from callcore.tickets.wiring import TICKETS

router = Router("/api/v1")
ADMIN = ("admin",)


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


class CategoryIn(InputModel):
    name: str = Field(min_length=1, max_length=64)
    limit_days: int = Field(ge=0, le=365, description="working days after receipt; 0 = the same day")
    active: bool = True


class CategoryOut(BaseModel):
    code: str
    name: str
    limit_days: int
    active: bool


class OverrideIn(InputModel):
    workday: bool
    note: str = Field(default="", max_length=128)


class OverrideOut(BaseModel):
    day: date
    workday: bool
    note: str


class CalendarOut(BaseModel):
    overrides: list[OverrideOut]
    holiday_data_years: dict[str, bool] = Field(description="whether the holiday package covers each year")


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


class StatsQuery(InputModel):
    start: Day = Field(description="first day of the period (local)")
    end: Day = Field(description="last day of the period, inclusive")
    department_id: str | None = Field(default=None, max_length=36)

    @model_validator(mode="after")
    def _order(self) -> StatsQuery:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if (self.end - self.start).days > 3660:
            raise ValueError("the period is at most ten years")
        return self


@router.get("/departments", summary="List departments", tags=("admin",))
async def list_departments(req: ApiRequest[Any, Any]) -> list[DepartmentOut]:
    async with req.app[TICKETS].db.session() as s:
        return [DepartmentOut.model_validate(d, from_attributes=True)
                for d in await s.scalars(select(Department).order_by(Department.code))]


@router.post("/departments", summary="Create a department", tags=("admin",), body=DepartmentIn,
             response=DepartmentOut, status=201, roles=ADMIN, responses={409: "code taken"})
async def create_department(req: ApiRequest[DepartmentIn, Any]) -> DepartmentOut:
    d = Department(id=str(uuid.uuid4()), active=True, created_at=utcnow(), **req.body.model_dump())
    try:
        async with req.app[TICKETS].db.session() as s:
            s.add(d)
    except IntegrityError:
        raise Conflict(f"department code {req.body.code!r} is taken") from None
    return DepartmentOut.model_validate(d, from_attributes=True)


@router.patch("/departments/{department_id}", summary="Change a department", tags=("admin",), body=DepartmentPatch,
              response=DepartmentOut, roles=ADMIN, responses={404: "no such department"})
async def update_department(req: ApiRequest[DepartmentPatch, Any]) -> DepartmentOut:
    async with req.app[TICKETS].db.session() as s:
        dep_id = req.path["department_id"]
        d = None if "\x00" in dep_id else await s.get(Department, dep_id)
        if d is None:
            raise NotFound(f"department {req.path['department_id']} not found")
        for k, v in req.body.model_dump(exclude_none=True).items():
            setattr(d, k, v)
        return DepartmentOut.model_validate(d, from_attributes=True)


@router.get("/categories", summary="Categories and their deadlines (W-2, W-7)", tags=("admin",))
async def list_categories(req: ApiRequest[Any, Any]) -> list[CategoryOut]:
    service = req.app[TICKETS]
    await service.deadlines()
    async with service.db.session() as s:
        return [CategoryOut.model_validate(c, from_attributes=True)
                for c in await s.scalars(select(Category).order_by(Category.code))]


@router.put("/categories/{code}", summary="Create or change a category and its deadline", tags=("admin",),
            body=CategoryIn, response=CategoryOut, roles=ADMIN)
async def put_category(req: ApiRequest[CategoryIn, Any]) -> CategoryOut:
    code = req.path["code"]
    if not code.replace("_", "").isalnum() or len(code) > 32 or not code.isascii():
        raise InvalidInput("code: letters, digits and _ only, at most 32", details=[
            {"field": "code", "in": "path", "message": "letters, digits and _ only, at most 32"}])
    service = req.app[TICKETS]
    async with service.db.session() as s:
        c = await s.get(Category, code)
        if c is None:
            c = Category(code=code, **req.body.model_dump())
            s.add(c)
        else:
            for k, v in req.body.model_dump().items():
                setattr(c, k, v)
        out = CategoryOut.model_validate(c, from_attributes=True)
    await service.reload()
    return out


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("day: expected YYYY-MM-DD", details=[
            {"field": "day", "in": "path", "message": "expected YYYY-MM-DD"}]) from None


@router.get("/calendar", summary="Working-day calendar overrides", tags=("admin",))
async def get_calendar(req: ApiRequest[Any, Any]) -> CalendarOut:
    async with req.app[TICKETS].db.session() as s:
        rows = await s.scalars(select(CalendarOverride).order_by(CalendarOverride.day))
        overrides = [OverrideOut.model_validate(r, from_attributes=True) for r in rows]
    year = local_date(utcnow()).year
    return CalendarOut(overrides=overrides, holiday_data_years={str(y): covered(y) for y in range(year - 1, year + 2)})


@router.put("/calendar/{day}", summary="Mark a day as a working day or a holiday", tags=("admin",), body=OverrideIn,
            response=OverrideOut, roles=ADMIN)
async def put_override(req: ApiRequest[OverrideIn, Any]) -> OverrideOut:
    day = _day(req.path["day"])
    service = req.app[TICKETS]
    async with service.db.session() as s:
        row = await s.get(CalendarOverride, day)
        if row is None:
            row = CalendarOverride(day=day, **req.body.model_dump())
            s.add(row)
        else:
            row.workday, row.note = req.body.workday, req.body.note
        out = OverrideOut.model_validate(row, from_attributes=True)
    await service.reload()
    return out


@router.delete("/calendar/{day}", summary="Remove an override", tags=("admin",), status=204, roles=ADMIN,
               responses={404: "no override that day"})
async def delete_override(req: ApiRequest[Any, Any]) -> None:
    day = _day(req.path["day"])
    service = req.app[TICKETS]
    async with service.db.session() as s:
        row = await s.get(CalendarOverride, day)
        if row is None:
            raise NotFound(f"no override on {day.isoformat()}")
        await s.delete(row)
    await service.reload()


@router.get("/audit", summary="Audit log of whole personal values viewed (A-2)", tags=("admin",), query=AuditQuery,
            roles=ADMIN)
async def audit_log(req: ApiRequest[Any, AuditQuery]) -> list[AuditOut]:
    q = req.query
    rows = await audit.entries(req.app[TICKETS].db, since=q.since, user_id=q.user_id, object_id=q.object_id,
                               limit=q.limit, offset=q.offset)
    return [AuditOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/stats/departments", summary="S-1 per department and period", tags=("stats",), query=StatsQuery,
            roles=("leader", "supervisor", "dispatcher", "admin"))
async def department_stats(req: ApiRequest[Any, StatsQuery]) -> list[dict[str, Any]]:
    q = req.query
    since = datetime.combine(q.start, time(0), LOCAL_TZ)
    until = datetime.combine(q.end + timedelta(days=1), time(0), LOCAL_TZ)
    rows = await stats.department_stats(req.app[TICKETS].db, since, until, local_date(utcnow()), q.department_id)
    return [asdict(r) for r in rows]
