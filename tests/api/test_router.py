"""The router's one serialiser (``callcore.api.router.dump``): C-1 (every time leaves in UTC with
milliseconds) whatever a handler returns: a model, a list of models, a dataclass, nested ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

from callcore.api.router import dump
from tests.accounts.staff import Api

C1 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# What a client would read as an instant, whatever its format: a day, "T", hours and minutes.
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
AT = datetime(2026, 11, 23, 16, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
WRITTEN = "2026-11-23T08:00:00.123Z"


class Stamp(BaseModel):
    at: datetime
    until: datetime | None = None


@dataclass
class Row:
    at: datetime
    stamps: list[Stamp]


def _instants(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if INSTANT.match(value) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _instants(v)]
    if isinstance(value, list):
        return [s for v in value for s in _instants(v)]
    return []


def test_every_shape_of_answer_writes_times_in_one_format() -> None:
    assert dump(Stamp(at=AT)) == {"at": WRITTEN, "until": None}
    assert dump([Stamp(at=AT), Stamp(at=AT, until=AT)]) == [{"at": WRITTEN, "until": None},
                                                             {"at": WRITTEN, "until": WRITTEN}]
    assert dump(Row(at=AT, stamps=[Stamp(at=AT)])) == {"at": WRITTEN, "stamps": [{"at": WRITTEN, "until": None}]}
    assert dump({"rows": (Row(at=AT, stamps=[]),), "n": 1}) == {"rows": [{"at": WRITTEN, "stamps": []}], "n": 1}
    # A naive time is the store's UTC.
    assert dump([Stamp(at=datetime(2026, 11, 23, 8, 0))]) == [{"at": "2026-11-23T08:00:00.000Z", "until": None}]


async def test_every_json_answer_of_the_whole_api_writes_times_in_one_format(app: Api) -> None:
    # Something in each list the issue found writing pydantic's format: a ticket (duplicates), its phone
    # revealed (audit), an API key; users, departments and categories the app has.
    status, ticket = await app.call("POST", "/api/v1/tickets", "agent",
                                    json={"category": "complaint", "phone": "13812345678", "content": "路灯不亮"})
    assert status == 201, ticket
    assert (await app.call("POST", f"/api/v1/tickets/{ticket['id']}/reveal", json={"fields": ["phone"]}))[0] == 200
    assert (await app.call("POST", "/api/v1/admin/api-keys", json={"name": "城管平台", "scopes": ["read"]}))[0] == 201
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    paths = [path for path, ops in doc["paths"].items() if "{" not in path and "get" in ops
             and "application/json" in ops["get"]["responses"].get("200", {}).get("content", {})]
    paths.append("/api/v1/tickets/duplicates?phone=13812345678&category=complaint&content=路灯不亮")
    written: dict[str, list[str]] = {}
    for path in paths:
        status, body = await app.call("GET", path)
        if status == 200 and not isinstance(body, bytes):
            written[path.split("?")[0]] = _instants(body)
    wrong = {path: [s for s in found if not C1.match(s)] for path, found in written.items()}
    assert {path: bad for path, bad in wrong.items() if bad} == {}
    for listed in ("/api/v1/admin/users", "/api/v1/audit", "/api/v1/admin/api-keys", "/api/v1/tickets/duplicates"):
        assert written.get(listed), f"{listed} answered no time to check"
