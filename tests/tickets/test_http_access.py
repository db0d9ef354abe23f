"""A-1 and A-2 through the API: a handler of department A cannot read, list, export or act on
department B's tickets; masked values stay masked without the right; every whole view is audited."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.tickets.api import TicketsApi


async def _two_tickets(api: TicketsApi) -> tuple[dict, dict]:  # type: ignore[type-arg]
    a = await api.new_ticket(content="甲单位的事", phone="13811110000")
    b = await api.new_ticket(content="乙单位的事", phone="13822220000")
    assert (await api.act(a["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a"))[0] == 200
    assert (await api.act(b["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-b"))[0] == 200
    return a, b


async def test_handler_sees_only_own_department(api: TicketsApi) -> None:
    a, b = await _two_tickets(api)
    s, out = await api.call("GET", f"/api/v1/tickets/{b['id']}", "handler_a")
    assert s == 404 and "乙单位的事" not in str(out)
    s, out = await api.call("GET", f"/api/v1/tickets/{b['number']}", "handler_a")
    assert s == 404 and out["error_id"] == "ticket_not_found"
    for action, extra in (("sign", {}), ("note", {"note": "x"}), ("return", {"reason": "x"})):
        s, out = await api.act(b["id"], "handler_a", action, **extra)
        assert s == 404 and "content" not in out
    for path in (f"/api/v1/tickets/{b['id']}/slip", f"/api/v1/tickets/{b['id']}/slip?format=pdf"):
        assert (await api.call("GET", path, "handler_a"))[0] == 404
    s, out = await api.call("POST", f"/api/v1/tickets/{b['id']}/reveal", "handler_a", json={"fields": ["phone"]})
    assert s == 404
    s, out = await api.call("GET", "/api/v1/tickets", "handler_a")
    assert [t["id"] for t in out["items"]] == [a["id"]]
    s, out = await api.call("GET", "/api/v1/tickets?department_id=dep-b", "handler_a")
    assert out["items"] == [] and out["total"] == 0
    s, out = await api.call("GET", f"/api/v1/tickets?number={b['number']}", "handler_a")
    assert out["items"] == []
    s, body = await api.call("GET", "/api/v1/tickets/export?format=csv", "handler_a")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == a["number"]
    s, body = await api.call("GET", "/api/v1/tickets/export?format=xlsx", "handler_b")
    ws = load_workbook(io.BytesIO(body)).active
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == [b["number"]]
    # Acting on its own ticket works; after returning it, the department reads it in its history (issue 14)
    # and may no longer act on it.
    assert (await api.act(a["id"], "handler_a", "sign"))[0] == 200
    s, out = await api.act(a["id"], "handler_a", "return", reason="非本单位职责")
    assert s == 200 and out["status"] == "returned" and out["history"][-1]["action"] == "return"
    s, out = await api.call("GET", f"/api/v1/tickets/{a['id']}", "handler_a")
    assert s == 200 and [e["action"] for e in out["history"]][-1] == "return"
    s, out = await api.act(a["id"], "handler_a", "note", note="补充")
    assert s == 403 and out["error_id"] == "not_permitted"
    assert (await api.call("GET", f"/api/v1/tickets/{a['id']}", "handler_b"))[0] == 404
    # Screen pop and duplicates are center tools.
    assert (await api.call("GET", "/api/v1/tickets/lookup?phone=13822220000", "handler_a"))[0] == 403


async def test_assisting_department_sees_cohandled_ticket(api: TicketsApi) -> None:
    t = await api.new_ticket()
    await api.act(t["id"], "dispatcher", "dispatch", mode="cohandle", department_id="dep-a", assist_ids=["dep-b"])
    assert (await api.call("GET", f"/api/v1/tickets/{t['id']}", "handler_b"))[0] == 200
    s, out = await api.act(t["id"], "handler_b", "note", note="协办意见：已现场查看")
    assert s == 200
    assert (await api.act(t["id"], "handler_b", "sign"))[0] == 403


async def test_masking_and_audited_reveal(api: TicketsApi) -> None:
    t = await api.new_ticket()
    await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    for who in ("agent", "leader", "handler_a", "dispatcher"):
        s, out = await api.call("GET", f"/api/v1/tickets/{t['id']}", who)
        assert out["phone"] == "138****5678" and out["id_card"] == "110101********1234"
        s, page = await api.call("GET", "/api/v1/tickets", who)
        assert all("13812345678" not in str(x) and "199003071234" not in str(x) for x in page["items"])
    s, body = await api.call("GET", "/api/v1/tickets/export", "dispatcher")
    assert b"13812345678" not in body and "138****5678".encode() in body
    # Leaders may not see whole values; handlers get the phone but not the ID card.
    s, out = await api.call("POST", f"/api/v1/tickets/{t['id']}/reveal", "leader", json={"fields": ["phone"]})
    assert s == 403
    s, out = await api.call("POST", f"/api/v1/tickets/{t['id']}/reveal", "handler_a", json={"fields": ["id_card"]})
    assert s == 403
    s, out = await api.call("POST", f"/api/v1/tickets/{t['id']}/reveal", "handler_a", json={"fields": ["phone"]})
    assert s == 200 and out["phone"] == "13812345678"
    s, out = await api.call("POST", f"/api/v1/tickets/{t['id']}/reveal", "agent",
                            json={"fields": ["phone", "id_card"]})
    assert out == {"phone": "13812345678", "id_card": "110101199003071234"}
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip?reveal=true", "dispatcher")
    assert "13812345678" in body.decode()
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip?reveal=true", "leader")
    assert s == 403
    s, log = await api.call("GET", f"/api/v1/audit?object_id={t['id']}", "admin")
    assert s == 200 and sorted((e["user_id"], tuple(e["detail"]["fields"])) for e in log) == [
        ("user-agent", ("phone", "id_card")), ("user-dispatcher", ("phone",)), ("user-handler_a", ("phone",))]
    assert (await api.call("GET", "/api/v1/audit", "supervisor"))[0] == 403


async def test_every_call_is_authenticated(api: TicketsApi) -> None:
    for method, path in (("GET", "/api/v1/tickets"), ("POST", "/api/v1/tickets"), ("GET", "/api/v1/tickets/x"),
                         ("GET", "/api/v1/tickets/export"), ("GET", "/api/v1/stats/departments?start=2026-01-01&end=2026-01-31"),
                         ("GET", "/api/v1/open311/v2/requests.json"), ("GET", "/api/v1/departments")):
        s, out = await api.call(method, path, "nobody")
        assert s == 401, (method, path)
    r = await api.client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert r.status == 401
