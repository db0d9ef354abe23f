"""Citizens' lookup by query code: no login, no personal data, rate-limited. And Open311 intake."""

from __future__ import annotations

from tests.api.ticketing import Api, api  # noqa: F401  (fixture)


async def test_public_lookup(api: Api) -> None:
    t = await api.new_ticket(category="consultation")
    await api.act(t["id"], "agent", "answer", reply="办理地点在区政务中心，联系电话 13800001111")
    r = await api.client.get(f"/api/v1/public/tickets/{t['query_code']}")
    body = await r.json()
    assert r.status == 200 and body["status_text"] == "已办结" and body["reply"] is None
    text = str(body)
    assert "13812345678" not in text and "张先生" not in text and "110101" not in text and t["number"] not in text
    r = await api.client.get(f"/api/v1/public/tickets/{t['query_code']}?phone=5678")
    assert (await r.json())["reply"] == "办理地点在区政务中心，联系电话 138****1111"
    r = await api.client.get("/api/v1/public/tickets/00000000")
    assert r.status == 404 or t["query_code"] == "00000000"
    r = await api.client.get("/api/v1/public/tickets/abc")
    assert r.status == 400
    statuses = [(await api.client.get(f"/api/v1/public/tickets/{t['query_code']}")).status for _ in range(30)]
    assert 429 in statuses and statuses.index(429) >= 15


async def test_open311(api: Api) -> None:
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
