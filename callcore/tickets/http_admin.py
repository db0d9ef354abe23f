"""Reference data admins manage for the workflow (categories and their deadlines, calendar
overrides) and the S-1 statistics per department."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, model_validator

from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import Day, InputModel, parse_day
from callcore.core.errors import InvalidInput
from callcore.core.identity import ADMINS, HANDLER, STATS_READERS
from callcore.tickets import reference, stats
from callcore.tickets.errors import NotPermitted
from callcore.tickets.services import TicketService

router = Router("/api/v1")


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
    covered_years: dict[str, bool] = Field(
        description="whether deadlines in each year are verified: the package covers it, or admins entered the "
                    "year's notice (1 January marked a holiday); deadlines over other years are flagged")


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


def _path_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "in": "path", "message": message}])


def _code(raw: str) -> str:
    if not raw.replace("_", "").isalnum() or len(raw) > 32 or not raw.isascii():
        raise _path_error("code", "letters, digits and _ only, at most 32")
    return raw


def _day(raw: str) -> date:
    return parse_day(raw)


@router.get("/categories", summary="Categories and their deadlines (W-2, W-7)", tags=("admin",),
            response=list[CategoryOut])
async def list_categories(req: ApiRequest[Any, Any]) -> list[CategoryOut]:
    return [CategoryOut.model_validate(c, from_attributes=True)
            for c in await reference.categories(req.ctx.get(TicketService))]


@router.put("/categories/{code}", summary="Create or change a category and its deadline", tags=("admin",),
            body=CategoryIn, response=CategoryOut, roles=ADMINS)
async def put_category(req: ApiRequest[CategoryIn, Any]) -> CategoryOut:
    code = _code(req.path["code"])
    c = await reference.put_category(req.ctx.get(TicketService), code, **req.body.model_dump())
    return CategoryOut.model_validate(c, from_attributes=True)


@router.get("/calendar", summary="Working-day calendar overrides", tags=("admin",), response=CalendarOut)
async def get_calendar(req: ApiRequest[Any, Any]) -> CalendarOut:
    rows = await reference.overrides(req.ctx.db)
    return CalendarOut(overrides=[OverrideOut.model_validate(r, from_attributes=True) for r in rows],
                       holiday_data_years=reference.holiday_data_years(),
                       covered_years=await reference.covered_years(req.ctx.get(TicketService)))


@router.put("/calendar/{day}", summary="Mark a day as a working day or a holiday", tags=("admin",), body=OverrideIn,
            response=OverrideOut, roles=ADMINS,
            links={"remove": Link(method="DELETE", path="/calendar/{day}", parameters={"day": "$request.path.day"})})
async def put_override(req: ApiRequest[OverrideIn, Any]) -> OverrideOut:
    day = _day(req.path["day"])
    row = await reference.put_override(req.ctx.get(TicketService), day, **req.body.model_dump())
    return OverrideOut.model_validate(row, from_attributes=True)


@router.delete("/calendar/{day}", summary="Remove an override", tags=("admin",), status=204, roles=ADMINS,
               responses={404: "no override that day"})
async def delete_override(req: ApiRequest[Any, Any]) -> None:
    await reference.delete_override(req.ctx.get(TicketService), _day(req.path["day"]))


@router.get("/stats/departments", summary="S-1 per department and period (a handler: the own department's)",
            tags=("stats",), query=StatsQuery, response=list[stats.DepartmentStats], roles=STATS_READERS | {HANDLER})
async def department_stats(req: ApiRequest[Any, StatsQuery]) -> list[dict[str, Any]]:
    q = req.query
    department_id = q.department_id
    if req.user.role == HANDLER:
        if department_id not in (None, req.user.department_id) or not req.user.department_id:
            raise NotPermitted("承办单位只能查看本单位的统计")
        department_id = req.user.department_id
    return [asdict(r) for r in await stats.for_period(req.ctx.db, q.start, q.end, department_id)]
