"""Numbers refused by policy (T-15): list, add, remove. Supervisors and admins; numbers are whole here
because the people who manage the list must see which number they block (each change names who)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import InputModel
from callcore.core.errors import InvalidInput, NotFound
from callcore.core.identity import FLOOR_MANAGERS
from callcore.routing import blocklist

router = Router("/api/v1")
NUMBER = r"^\+?[0-9]{3,40}$"


class BlockIn(InputModel):
    reason: str = Field(min_length=1, max_length=256)
    until: AwareDatetime | None = None


class BlockedOut(BaseModel):
    number: str
    reason: str
    added_by: str
    added_at: datetime
    until: datetime | None


class BlockedList(BaseModel):
    items: list[BlockedOut]


def _number(req: ApiRequest[Any, Any]) -> str:
    import re

    number = req.path["number"]
    if not re.match(NUMBER, number):
        raise InvalidInput(f"bad phone number {number!r}")
    return number


@router.get("/routing/blocked", summary="List blocked numbers", tags=("routing",), response=BlockedList,
            roles=FLOOR_MANAGERS)
async def list_blocked(req: ApiRequest[Any, Any]) -> BlockedList:
    rows = await blocklist.list_blocked(req.ctx.db)
    return BlockedList(items=[BlockedOut.model_validate(r, from_attributes=True) for r in rows])


@router.put("/routing/blocked/{number}", summary="Block a number", tags=("routing",), body=BlockIn,
            response=BlockedOut, roles=FLOOR_MANAGERS,
            links={"unblock": Link(method="DELETE", path="/routing/blocked/{number}",
                                   parameters={"number": "$request.path.number"})})
async def put_blocked(req: ApiRequest[BlockIn, Any]) -> BlockedOut:
    number = _number(req)
    row = await blocklist.block(req.ctx.db, number, reason=req.body.reason, by=f"{req.user.name} ({req.user.user_id})",
                                 until=req.body.until)
    return BlockedOut.model_validate(row, from_attributes=True)


@router.delete("/routing/blocked/{number}", summary="Unblock a number", tags=("routing",), status=204,
               roles=FLOOR_MANAGERS, responses={404: "the number is not blocked"})
async def delete_blocked(req: ApiRequest[Any, Any]) -> None:
    if not await blocklist.unblock(req.ctx.db, _number(req)):
        raise NotFound("the number is not blocked")
