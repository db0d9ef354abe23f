"""Open311 GeoReport v2 on the ticket service: service types, a request, reading it back."""

from __future__ import annotations

import pytest

from callcore.core.errors import NotFound
from callcore.tickets import open311, reference
from callcore.tickets.errors import TicketNotFound
from callcore.tickets.services import TicketService
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A


async def test_service_types_are_the_active_categories(service: TicketService) -> None:
    await service.deadlines()  # seeds the default categories
    await reference.put_category(service, "old", name="旧类别", limit_days=5, active=False)
    types = {s.code: s for s in await open311.service_types(service)}
    assert "old" not in types
    assert types["help"].description == "求助（办理时限5个工作日）"
    assert types["emergency"].description == "应急（当日办理）"


async def test_request_round_trip(service: TicketService) -> None:
    t = await open311.create_request(service, AGENT, service_code="help", description="井盖缺失", first_name="明",
                                     last_name="王", phone="13900001111", address="幸福路口", lat=39.9, lon=116.4)
    assert (t.channel, t.caller_name, t.lat, t.lon) == ("open311", "王 明", 39.9, 116.4)
    assert open311.notice(t) == f"已受理，查询码{t.query_code}，办理时限{t.due_date.isoformat()}"
    r = await open311.request(service, AGENT, t.number)
    assert (r.closed, r.notes, r.service_name, r.address, r.expected_on) == (False, "", "求助", "幸福路口", t.due_date)
    await service.act(DISPATCHER, t.id, "reject", {"reason": "unlawful"}, note="x")
    assert (await open311.request(service, AGENT, t.number)).closed
    with pytest.raises(TicketNotFound):  # not dispatched to this department
        await open311.request(service, HANDLER_A, t.number)
    with pytest.raises(NotFound):
        await open311.request(service, AGENT, "9" * 21)
