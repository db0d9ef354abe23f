"""Names, not ids (issue 14): every ticket view, history entry and link shows department names, user
names and ticket numbers next to the ids; departments are found by id, code or name."""

from __future__ import annotations

from callcore.accounts.models import Department
from callcore.tickets import names
from callcore.tickets.errors import BadTicketInput
from tests.tickets.api import TicketsApi


async def test_views_show_names_next_to_ids(api: TicketsApi) -> None:
    t = await api.new_ticket(channel="web", urgency="urgent")
    assert (t["created_by"], t["created_by_name"]) == ("user-agent", "agent")
    assert (t["category_name"], t["channel_text"], t["urgency_text"]) == ("投诉", "网站", "紧急")
    s, out = await api.act(t["id"], "dispatcher", "dispatch", mode="cohandle", department_id="dep-a",
                           assist_ids=["dep-b"])
    assert s == 200 and out["department_name"] == "a单位" and out["assist_names"] == ["b单位"]
    await api.act(t["id"], "handler_a", "sign")
    s, out = await api.call("GET", f"/api/v1/tickets/{t['number']}", "dispatcher")
    dispatch, sign = out["history"][1], out["history"][2]
    assert (dispatch["action_text"], dispatch["department_name"], dispatch["assist_names"]) == ("派发", "a单位", ["b单位"])
    assert (sign["actor_name"], sign["actor_department_id"], sign["actor_department_name"]) == ("handler_a", "dep-a",
                                                                                                 "a单位")
    s, page = await api.call("GET", "/api/v1/tickets?department_id=a", "dispatcher")
    assert page["items"][0]["department_name"] == "a单位" and page["items"][0]["status_text"] == "办理中"
    s, pop = await api.call("GET", "/api/v1/tickets/lookup?phone=13812345678", "agent")
    assert pop["tickets"][0]["department_name"] == "a单位"


async def test_links_and_merges_show_ticket_numbers(api: TicketsApi) -> None:
    a = await api.new_ticket(content="路灯不亮")
    b = await api.new_ticket(content="路灯坏了")
    c = await api.new_ticket(content="路灯又坏了")
    s, out = await api.act(c["id"], "agent", "link", other_id=a["number"])
    assert s == 200 and out["links"] == [{"other_id": a["id"], "other_number": a["number"], "kind": "related"}]
    assert out["history"][-1]["other_number"] == a["number"]
    s, out = await api.act(b["id"], "agent", "merge", other_id=a["id"])
    assert s == 200 and out["merged_into"] == a["id"] and out["merged_into_number"] == a["number"]
    s, out = await api.call("GET", f"/api/v1/tickets/{a['id']}", "agent")
    assert {(li["other_number"], li["kind"]) for li in out["links"]} == {(b["number"], "merged_from"),
                                                                          (c["number"], "related")}


async def test_linking_to_an_unknown_or_the_same_ticket_is_refused_in_chinese(api: TicketsApi) -> None:
    t = await api.new_ticket(content="路灯不亮")
    for other, text in (("20991231-9999", "没有工单号为 20991231-9999 的工单（或不在您的权限范围内）"),
                        (t["number"], "工单不能与自身关联或合并")):
        s, out = await api.act(t["id"], "dispatcher", "merge", other_id=other)
        assert s == 400 and out["error_id"] == "invalid_input" and out["message"] == text, out
        assert out["details"][0]["field"] == "other_id"
    s, out = await api.call("GET", f"/api/v1/tickets/{t['id']}", "dispatcher")
    assert out["status"] == "new" and out["links"] == []


async def test_a_department_is_found_by_id_code_or_name(api: TicketsApi) -> None:
    async with api.db.session() as s:
        s.add_all([Department(id="dep-x1", code="x1", name="街道办", active=True, contact=""),
                   Department(id="dep-x2", code="x2", name="街道办", active=True, contact="")])
    async with api.db.session() as s:
        for ref in ("dep-a", "a", "a单位", " a "):
            found = await names.find_department(s, ref)
            assert found is not None and found.id == "dep-a"
        assert await names.find_department(s, "没有的单位") is None and await names.find_department(s, "") is None
        try:
            await names.find_department(s, "街道办")
        except BadTicketInput as exc:  # two departments share the name: the code is asked for
            assert "x1" in exc.message and "x2" in exc.message
        else:
            raise AssertionError("an ambiguous name was accepted")
    t = await api.new_ticket()
    s, err = await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="街道办")
    assert s == 400 and "单位编码" in err["details"][0]["message"]
    s, out = await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="x2")
    assert s == 200 and out["department_id"] == "dep-x2" and out["department_name"] == "街道办"
