"""GET /api/v1/surveys: ratings for supervisors and reports, callers' numbers masked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from callcore.store.db import Database
from callcore.surveys.plugin import SurveysPlugin
from callcore.surveys.services import SurveyService
from callcore.surveys.types import SurveySubject
from tests.apps import ADMIN, AGENT, AgentAuth, api_client, context
from tests.surveys.helpers import T0, add_call

URL = "/api/v1/surveys"


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async with api_client(context(db, tmp_path), [SurveysPlugin], authenticators=[AgentAuth()]) as c:
        yield c


async def test_the_list_masks_numbers_and_says_what_each_key_means(client: TestClient,  # type: ignore[type-arg]
                                                                   db: Database) -> None:
    await add_call(db, "c1", caller="13960001234")
    await SurveyService(db).record("c1", SurveySubject(kind="inbound", agent="6001", queue="general"), 3, at=T0)
    r = await client.get(URL, params={"agent": "6001"}, headers=ADMIN)
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["total"] == 1
    [item] = body["items"]
    assert item["caller_number"] == "139****1234"
    assert (item["rating"], item["rating_text"], item["satisfaction"], item["kind"], item["queue"]) == \
        (3, "基本满意", "basically_satisfied", "inbound", "general")
    assert (await (await client.get(URL, params={"agent": "6002"}, headers=ADMIN)).json())["total"] == 0


async def test_agents_may_not_read_the_ratings(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get(URL, headers=AGENT)).status == 403


async def test_bad_filters_are_400s(client: TestClient) -> None:  # type: ignore[type-arg]
    for params in ({"kind": "sideways"}, {"agent": "60a1"}, {"limit": "0"}, {"from": "2026-03-02T10:00:00"}):
        assert (await client.get(URL, params=params, headers=ADMIN)).status == 400, params


async def test_openapi_names_the_route_and_its_filters(client: TestClient) -> None:  # type: ignore[type-arg]
    doc = await (await client.get("/api/v1/openapi.json", headers=ADMIN)).json()
    op = doc["paths"]["/api/v1/surveys"]["get"]
    assert op["tags"] == ["surveys"]
    assert {"call_id", "ticket_id", "agent", "queue", "kind", "from", "to", "limit", "offset"} <= \
        {p["name"] for p in op["parameters"]}
