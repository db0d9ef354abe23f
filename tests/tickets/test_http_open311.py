"""Open311 GeoReport v2 intake: the service list, a form-encoded request, reading it back."""

from __future__ import annotations

from tests.tickets.api import TicketsApi


async def test_open311(api: TicketsApi) -> None:
    s, services = await api.call("GET", "/api/v1/open311/v2/services.json", "agent")
    assert {"service_code": "help", "service_name": "求助"}.items() <= services[1].items() or any(
        x["service_code"] == "help" for x in services)
    r = await api.client.post("/api/v1/open311/v2/requests.json", headers=api.headers["agent"], data={
        "api_key": "ignored", "service_code": "help", "description": "井盖缺失，存在安全隐患", "lat": "39.9",
        "long": "116.4", "address_string": "幸福路口", "first_name": "明", "last_name": "王", "phone": "13900001111"})
    assert r.status == 201, await r.text()
    created = (await r.json())[0]
    assert created["service_request_id"].isdigit() and "查询码" in created["service_notice"]
    s, got = await api.call("GET", f"/api/v1/open311/v2/requests/{created['service_request_id']}.json", "agent")
    assert s == 200 and got[0]["status"] == "open" and got[0]["service_code"] == "help" and got[0]["lat"] == 39.9
    s, tickets = await api.call("GET", f"/api/v1/tickets?number={created['service_request_id']}", "agent")
    assert tickets["items"][0]["channel"] == "open311" and tickets["items"][0]["caller_name"] == "王 明"
    r = await api.client.post("/api/v1/open311/v2/requests.json", headers=api.headers["agent"],
                              json={"service_code": "help"})
    assert r.status == 400 and (await r.json())["details"][0]["field"] == "description"
    assert (await api.call("GET", "/api/v1/open311/v2/requests/99999.json", "agent"))[0] == 404
