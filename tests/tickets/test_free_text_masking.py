"""A-2 for what people typed (issue 12): a phone or ID number written inside a ticket's text is masked
in every list, and in a ticket's detail, history and slip for the roles that may not see a citizen's
number (leaders); the roles that call citizens back read it as written."""

from __future__ import annotations

from tests.tickets.api import TicketsApi

WRITTEN = "请回电13912345678，身份证11010519491231002X已核实"


async def _ticket(api: TicketsApi) -> dict:  # type: ignore[type-arg]
    t = await api.new_ticket(content=f"路灯不亮，{WRITTEN}", address="幸福路8号 电话0931-8888888",
                             caller_name="张三13700001111")
    assert (await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a"))[0] == 200
    assert (await api.act(t["id"], "dispatcher", "note", note=f"已联系：{WRITTEN}"))[0] == 200
    return t


async def test_lists_mask_numbers_in_the_text_for_every_role(api: TicketsApi) -> None:
    await _ticket(api)
    for who in ("agent", "dispatcher", "handler_a", "leader"):
        status, page = await api.call("GET", "/api/v1/tickets", who)
        assert status == 200
        [item] = page["items"]
        text = " ".join(item[k] for k in ("content", "address", "caller_name"))
        assert "13912345678" not in text and "11010519491231002X" not in text and "8888888" not in text, (who, text)
        assert "139****5678" in item["content"] and item["caller_name"].startswith("张三")


async def test_a_leader_reads_the_detail_history_and_slip_masked_the_handler_as_written(api: TicketsApi) -> None:
    t = await _ticket(api)
    status, seen = await api.call("GET", f"/api/v1/tickets/{t['id']}", "leader")
    assert status == 200 and "13912345678" not in str(seen) and "11010519491231002X" not in str(seen)
    assert "139****5678" in seen["content"] and any("139****5678" in e["note"] for e in seen["history"])
    status, slip = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip", "leader")
    assert status == 200 and b"13912345678" not in slip and "139****5678".encode() in slip
    status, seen = await api.call("GET", f"/api/v1/tickets/{t['id']}", "handler_a")
    assert status == 200 and WRITTEN in seen["content"] and any(WRITTEN in e["note"] for e in seen["history"])
    status, slip = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip", "handler_a")
    assert status == 200 and "13912345678".encode() in slip
