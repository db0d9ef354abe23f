"""GET /api/v1/figures/calls: the buckets as JSON, the period and the grouping validated, the stats roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from callcore.api.router import Router
from callcore.calls import outcomes as oc
from callcore.calls.models import Call
from callcore.plugin import Plugin
from callcore.queues import http_figures
from callcore.store.db import Database
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context

URL = "/api/v1/figures/calls"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)  # 23:00 on 2 March in Beijing


class FiguresPlugin(Plugin):
    """The figures routes alone, until the queues capability has its plugin."""

    name = "figures"

    def routers(self) -> Sequence[Router]:
        return [http_figures.router]


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async with api_client(context(db, tmp_path), [FiguresPlugin], authenticators=[AgentAuth()]) as c:
        yield c


async def add_calls(db: Database) -> None:
    """Three calls of the general queue, seconds from T0:
    1 answered by 1001: arrived 0, queued 5, answered 17 (speed 12), ended 77, wrap 20 → handle 80
    2 abandoned in the queue: arrived 3599.5 (23:59:59.5 Beijing), queued 3600 (00:00 on 3 March), ended 3625
    3 lost in the IVR: arrived 3700, no queue, ended 3710"""
    def t(seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    async with db.session() as s:
        s.add_all([
            Call(id="c1", channel_id="c1", status="ended", arrived_at=t(0), ended_at=t(77), outcome=oc.ANSWERED,
                 queue="general", agent="1001", queue_entered_at=t(5), agent_answered_at=t(17), wrap_up_seconds=20,
                 attributes={}),
            Call(id="c2", channel_id="c2", status="ended", arrived_at=t(3599.5), ended_at=t(3625),
                 outcome=oc.ABANDONED_IN_QUEUE, queue="general", queue_entered_at=t(3600), attributes={}),
            Call(id="c3", channel_id="c3", status="ended", arrived_at=t(3700), ended_at=t(3710),
                 outcome=oc.LOST_IN_IVR, attributes={}),
        ])


async def test_figures_by_day(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    await add_calls(db)
    r = await client.get(URL, params={"from": "2026-03-02", "to": "2026-03-04", "by": "day"}, headers=ADMIN)
    assert r.status == 200, await r.text()
    body = await r.json()
    # A bare day is its midnight in Beijing: 2 March 00:00 +08:00 is 1 March 16:00 UTC.
    assert (body["by"], body["from"], body["to"]) == ("day", "2026-03-01T16:00:00.000Z", "2026-03-03T16:00:00.000Z")
    assert body["service_levels"] == [15, 20, 30]
    first, second = body["buckets"]
    assert (first["key"], first["calls"], first["answered"], first["abandoned"]) == ("2026-03-02", 2, 1, 1)
    assert first["service_level"] == {"15": 1.0, "20": 1.0, "30": 1.0}  # 12 s
    # Call 2 waited 25 s and left: late for 15 and 20 s (1 ÷ 2), within 30 s (1 ÷ 1).
    assert first["service_level_with_abandons"] == {"15": 0.5, "20": 0.5, "30": 1.0}
    assert (first["asa_from_queue"], first["asa_from_arrival"], first["average_handle_time"]) == (12, 17, 80)
    assert first["abandonment_rate"] == 0.5 and first["occupancy"] is None
    assert first["loss_by_stage"]["queue"] == 1
    assert (second["key"], second["calls"], second["loss_by_stage"]["ivr"]) == ("2026-03-03", 1, 1)


async def test_figures_in_total_and_by_the_other_buckets(client: TestClient,  # type: ignore[type-arg]
                                                        db: Database) -> None:
    await add_calls(db)
    period = {"from": "2026-03-02T23:00:00+08:00", "to": "2026-03-03T01:00:00+08:00"}
    total = await (await client.get(URL, params=period, headers=ADMIN)).json()
    [bucket] = total["buckets"]
    # No agent events: no idle time, so all the handle time is occupied time (80 ÷ 80).
    assert (bucket["key"], bucket["calls"], bucket["offered"], bucket["occupancy"]) == (None, 3, 2, 1.0)
    hours = await (await client.get(URL, params={**period, "by": "hour"}, headers=ADMIN)).json()
    assert [b["key"] for b in hours["buckets"]] == ["2026-03-02T23:00:00+08:00", "2026-03-03T00:00:00+08:00"]
    queues = await (await client.get(URL, params={**period, "by": "queue"}, headers=ADMIN)).json()
    assert [(b["key"], b["calls"]) for b in queues["buckets"]] == [("general", 2), (None, 1)]
    agents = await (await client.get(URL, params={**period, "by": "agent"}, headers=ADMIN)).json()
    assert [(b["key"], b["answered"]) for b in agents["buckets"]] == [("1001", 1), (None, 0)]
    empty = await (await client.get(URL, params={"from": "2020-01-01", "to": "2020-01-02"}, headers=ADMIN)).json()
    assert empty["buckets"][0]["calls"] == 0 and empty["buckets"][0]["abandonment_rate"] is None


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"to": "2026-03-02"}, "from", "Field required"),
    ({"from": "yesterday", "to": "2026-03-02"}, "from", "datetime"),
    ({"from": "2026-02-30", "to": "2026-03-02"}, "from", "day is out of range"),
    ({"from": "2026-03-01T08:00:00", "to": "2026-03-02"}, "from", "timezone"),
    ({"from": "2026-03-01", "to": "2026-03-02", "by": "week"}, "by", "'hour', 'day', 'queue', 'agent' or 'total'"),
    ({"from": "2026-03-02", "to": "2026-03-02"}, "query", "to must be after from"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "query", "to must be after from"),
    ({"from": "2020-01-01", "to": "2021-01-02", "by": "hour"}, "query", "at most 366 days"),
    ({"from": "2000-01-01", "to": "2020-01-01"}, "query", "at most ten years"),
    ({"from": "2026-03-01", "to": "2026-03-02", "since": "2026-03-01"}, "since", "Extra inputs"),
])
async def test_bad_queries_are_clear_400s(client: TestClient,  # type: ignore[type-arg]
                                          params: dict[str, str], field: str, words: str) -> None:
    r = await client.get(URL, params=params, headers=ADMIN)
    assert r.status == 400
    body = await r.json()
    assert body["error_id"] == "invalid_input"
    assert body["details"][0]["field"] == field and words in body["detail"], body


async def test_stats_readers_only(client: TestClient) -> None:  # type: ignore[type-arg]
    params = {"from": "2026-03-01", "to": "2026-03-02"}
    assert (await client.get(URL, params=params)).status == 401
    assert (await client.get(URL, params=params, headers=AGENT)).status == 403


async def test_openapi_names_the_query(client: TestClient) -> None:  # type: ignore[type-arg]
    doc = await (await client.get("/api/v1/openapi.json", headers=ADMIN)).json()
    op = doc["paths"][URL]["get"]
    assert [p["name"] for p in op["parameters"]] == ["from", "to", "by"]
    assert set(op["responses"]) >= {"200", "400", "401", "403"}
