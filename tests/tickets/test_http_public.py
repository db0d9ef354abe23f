"""Citizens' lookup by query code: no login, no personal data, rate-limited."""

from __future__ import annotations

from tests.tickets.api import TicketsApi


async def test_public_lookup(api: TicketsApi) -> None:
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
