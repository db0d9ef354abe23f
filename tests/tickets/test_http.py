"""The ticket API: create, act, list with filters, history, bad input, and department isolation."""

from __future__ import annotations

from sqlalchemy import func, select

from callcore.tickets.models import Ticket, TicketEvent
from tests.tickets.api import TicketsApi


async def test_create_dispatch_sign_reply_close(api: TicketsApi) -> None:
    t = await api.new_ticket()
    assert t["phone"] == "138****5678" and t["id_card"] == "110101********1234"
    assert t["status"] == "new" and t["colour"] == "green" and t["status_text"] == "已受理"  # 15 working days ahead
    s, out = await api.act(t["id"], "dispatcher", "dispatch", mode="cohandle", department_id="dep-a",
                           assist_ids=["dep-b"])
    assert s == 200 and out["status"] == "dispatched" and out["assist_ids"] == ["dep-b"]
    s, out = await api.act(t["number"], "handler_b", "sign")
    assert s == 403 and out["error_id"] == "not_permitted"
    s, out = await api.act(t["id"], "handler_a", "sign")
    assert s == 200 and out["status"] == "processing"
    s, out = await api.act(t["id"], "handler_a", "reply", reply="已协调施工方停工", satisfaction="satisfied")
    assert s == 200 and out["status"] == "replied"
    s, out = await api.act(t["id"], "dispatcher", "close")
    assert s == 200 and out["status"] == "closed"
    assert [e["action"] for e in out["history"]] == ["create", "dispatch", "sign", "reply", "close"]
    assert out["history"][2]["from_status"] == "dispatched" and out["history"][2]["role"] == "handler"
    s, out = await api.act(t["id"], "dispatcher", "sign")
    assert s == 409 and out["error_id"] == "illegal_transition"
    assert "'sign'" in out["detail"] and "'closed'" in out["detail"]


async def test_bad_input_names_the_field_and_changes_nothing(api: TicketsApi) -> None:
    s, out = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "complaint", "content": ""})
    assert s == 400 and out["details"][0]["field"] == "content"
    s, out = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "nope", "content": "x"})
    assert s == 400 and "category" in out["message"]
    s, out = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "help", "content": "x", "phone": "abc"})
    assert s == 400 and out["details"][0]["field"] == "phone"
    t = await api.new_ticket()
    s, out = await api.act(t["id"], "dispatcher", "dispatch", mode="assign", department_id="dep-a")
    assert s == 400 and "instructions" in out["message"]
    s, out = await api.act(t["id"], "dispatcher", "reject", reason="dislike")
    assert s == 400 and out["message"].startswith("reason")
    s, out = await api.act(t["id"], "dispatcher", "teleport")
    assert s == 400 and out["details"][0]["field"] == "action"
    s, out = await api.call("GET", "/api/v1/tickets?limit=0", "agent")
    assert s == 400 and out["details"][0]["field"] == "limit"
    s, out = await api.call("GET", "/api/v1/tickets?status=open,nope", "agent")
    assert s == 400 and out["details"][0]["field"] == "status"
    async with api.db.session() as sess:
        assert await sess.scalar(select(func.count()).select_from(Ticket)) == 1
        assert await sess.scalar(select(func.count()).select_from(TicketEvent)) == 1
    s, out = await api.call("GET", "/api/v1/tickets/00000000-0000-0000-0000-000000000000", "agent")
    assert s == 404


async def test_list_filters_sort_and_paging(api: TicketsApi) -> None:
    a = await api.new_ticket(category="help", phone="13900000001")
    b = await api.new_ticket(category="complaint", phone="13900000002")
    c = await api.new_ticket(category="emergency", phone="13900000002", content="燃气泄漏")
    await api.act(b["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    s, out = await api.call("GET", "/api/v1/tickets?phone=13900000002&sort=received_at", "agent")
    assert [x["id"] for x in out["items"]] == [b["id"], c["id"]] and out["total"] == 2
    s, out = await api.call("GET", "/api/v1/tickets?status=new&category=help", "agent")
    assert [x["id"] for x in out["items"]] == [a["id"]]
    s, out = await api.call("GET", "/api/v1/tickets?department_id=dep-a", "agent")
    assert [x["id"] for x in out["items"]] == [b["id"]]
    s, out = await api.call("GET", "/api/v1/tickets?colour=yellow", "agent")
    assert c["id"] in [x["id"] for x in out["items"]] and c["colour"] == "yellow"
    s, out = await api.call("GET", f"/api/v1/tickets?query_code={a['query_code']}", "agent")
    assert [x["id"] for x in out["items"]] == [a["id"]]
    s, out = await api.call("GET", f"/api/v1/tickets?number={a['number']}", "agent")
    assert [x["id"] for x in out["items"]] == [a["id"]]
    s, out = await api.call("GET", "/api/v1/tickets?limit=2&offset=0&sort=-number", "agent")
    assert out["total"] == 3 and len(out["items"]) == 2 and out["items"][0]["id"] == c["id"]
    s, out = await api.call("GET", "/api/v1/tickets?limit=2&offset=2&sort=-number", "agent")
    assert [x["id"] for x in out["items"]] == [a["id"]]
    dispatcher_id = (await api.call("GET", "/api/v1/auth/me", "dispatcher"))[1]["user_id"]
    s, out = await api.call("GET", f"/api/v1/tickets?handler={dispatcher_id}", "agent")
    assert [x["id"] for x in out["items"]] == [b["id"]]
    s, out = await api.call("GET", "/api/v1/tickets?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z", "agent")
    assert out["items"] == []


async def test_screen_pop_lookup_and_duplicates(api: TicketsApi) -> None:
    a = await api.new_ticket(phone="13700000000", content="路灯不亮已经一周了")
    b = await api.new_ticket(phone="13700000000", content="路灯不亮一周了请修理")
    assert [d["ticket_id"] for d in b["duplicates"]] == [a["id"]]
    s, out = await api.call("GET", "/api/v1/tickets/lookup?phone=13700000000", "agent")
    assert s == 200 and [t["id"] for t in out["tickets"]] == [b["id"], a["id"]] and out["phone"] == "137****0000"
    s, out = await api.call("GET", "/api/v1/tickets/duplicates?category=complaint&content=路灯不亮已经一周", "agent")
    assert {d["ticket_id"] for d in out} == {a["id"], b["id"]}
    s, out = await api.act(b["id"], "agent", "merge", other_id=a["number"])
    assert s == 200 and out["status"] == "merged"
    s, out = await api.call("GET", f"/api/v1/tickets/{a['id']}", "agent")
    assert out["links"] == [{"other_id": b["id"], "other_number": b["number"], "kind": "merged_from"}]


async def test_slip_html_and_pdf(api: TicketsApi) -> None:
    t = await api.new_ticket()
    await api.act(t["id"], "dispatcher", "dispatch", mode="assign", department_id="dep-a", instructions="请三日内处理")
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip", "handler_a")
    html = body.decode()
    assert s == 200 and "工单转办单" in html and "a单位" in html and "请三日内处理" in html and "138****5678" in html
    assert "投诉" in html and "派发" in html and "交办" in html
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip?format=pdf&reveal=true", "dispatcher")
    assert s == 200 and body.startswith(b"%PDF") and b"FontFile2" in body
    s, _ = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip", "handler_b")
    assert s == 404


async def test_ticket_from_a_call(api: TicketsApi) -> None:
    from callcore.calls.models import Call
    from callcore.store.base import utcnow

    async with api.db.session() as s:
        s.add(Call(id="call-1", channel_id="chan-1", direction="inbound", caller_number="13812345678", caller_name="",
                   dialed="96881", status="ended", stage="ended", arrived_at=utcnow(), attributes={}))
    t = await api.new_ticket(call_id="call-1")
    s, out = await api.call("GET", f"/api/v1/tickets/{t['id']}", "agent")
    assert out["call_id"] == "call-1" and out["calls"] == ["call-1"] and out["channel"] == "phone"
    s, out = await api.call("GET", "/api/v1/tickets/lookup?phone=13812345678", "agent")
    assert [c["id"] for c in out["calls"]] == ["call-1"] and "13812345678" not in str(out)
    s, err = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "help", "content": "x",
                                                                      "call_id": "nope"})
    assert s == 400 and err["details"][0]["field"] == "call_id"
    s, err = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "help", "content": "x",
                                                                      "channel": "web", "call_id": "call-1"})
    assert s == 400 and err["details"][0]["field"] == "call_id"
    s, out = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "help", "content": "网上留言",
                                                                      "channel": "web"})
    assert s == 201 and out["channel"] == "web" and out["call_id"] is None
