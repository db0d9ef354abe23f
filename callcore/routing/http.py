"""Numbers refused by policy (T-15): list, add, remove. Supervisors and admins; each change names who.

A-2: the list shows numbers masked (and any number in a reason), each entry with an opaque ``id``
that ``DELETE /routing/blocked/{id}`` takes, so unblocking never needs the whole number to leave the
API. Blocking takes the number one types (``PUT``), and ``DELETE`` still takes a typed number too.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import InputModel
from callcore.core.errors import InvalidInput, NotFound
from callcore.core.identity import FLOOR_MANAGERS
from callcore.core.privacy import mask_phone, scrub
from callcore.routing import blocklist
from callcore.routing.blocklist import EntryIds
from callcore.routing.models import BlockedNumber

router = Router("/api/v1")
NUMBER = re.compile(r"^\+?[0-9]{3,40}$")


class BlockIn(InputModel):
    reason: str = Field(min_length=1, max_length=256)
    until: AwareDatetime | None = None


class BlockedOut(BaseModel):
    id: str = Field(description="opaque, names the entry for DELETE /routing/blocked/{id}; stable while the "
                                "daemon runs (list again after a restart)")
    number: str = Field(description="masked (A-2)")
    reason: str = Field(description="numbers in it masked")
    added_by: str
    added_at: datetime
    until: datetime | None

    @classmethod
    def of(cls, row: BlockedNumber, ids: EntryIds) -> BlockedOut:
        return cls(id=ids.of(row.number), number=mask_phone(row.number), reason=scrub(row.reason),
                   added_by=row.added_by, added_at=row.added_at, until=row.until)


class BlockedList(BaseModel):
    items: list[BlockedOut]


def _number(req: ApiRequest[Any, Any]) -> str:
    number = req.path["number"]
    if not NUMBER.match(number):
        raise InvalidInput(f"bad phone number {number!r}")
    return number


@router.get("/routing/blocked", summary="List blocked numbers (masked)", tags=("routing",), response=BlockedList,
            roles=FLOOR_MANAGERS)
async def list_blocked(req: ApiRequest[Any, Any]) -> BlockedList:
    ids = req.ctx.get(EntryIds)
    return BlockedList(items=[BlockedOut.of(r, ids) for r in await blocklist.list_blocked(req.ctx.db)])


@router.put("/routing/blocked/{number}", summary="Block a number", tags=("routing",), body=BlockIn,
            response=BlockedOut, roles=FLOOR_MANAGERS,
            links={"unblock": Link(method="DELETE", path="/routing/blocked/{number}",
                                   parameters={"number": "$response.body#/id"})})
async def put_blocked(req: ApiRequest[BlockIn, Any]) -> BlockedOut:
    number = _number(req)
    row = await blocklist.block(req.ctx.db, number, reason=req.body.reason, by=f"{req.user.name} ({req.user.user_id})",
                                 until=req.body.until)
    return BlockedOut.of(row, req.ctx.get(EntryIds))


@router.delete("/routing/blocked/{number}", summary="Unblock a number: the number, or the id the list gives it",
               tags=("routing",), status=204, roles=FLOOR_MANAGERS,
               responses={404: "the number is not blocked (or the id names no entry of this daemon's run)"})
async def delete_blocked(req: ApiRequest[Any, Any]) -> None:
    ref = req.path["number"]
    number = await req.ctx.get(EntryIds).number(req.ctx.db, ref) if EntryIds.PATTERN.match(ref) else _number(req)
    if number is None or not await blocklist.unblock(req.ctx.db, number):
        raise NotFound("the number is not blocked")
