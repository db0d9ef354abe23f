"""Citizens' lookup by phone and the ID card's last 6 characters (issue 14): the query-code view,
nothing more; one "not found" for every miss; rate-limited per address and per phone."""

from __future__ import annotations

from typing import Any

from tests.tickets.api import TicketsApi

URL = "/api/v1/public/lookup"


async def _lookup(api: TicketsApi, phone: str, tail: str, **headers: str) -> tuple[int, Any]:
    return await api.call("POST", URL, "nobody", json={"phone": phone, "id_card_tail": tail}, headers=headers)


async def test_lookup_by_phone_and_id_tail_shows_the_query_code_view(api: TicketsApi) -> None:
    t = await api.new_ticket(category="consultation", id_card="11010519491231002X")
    await api.act(t["id"], "agent", "answer", reply="已电话联系您13900006666，身份证11010519491231002X已核实")
    status, body = await _lookup(api, "13812345678", "31002x")
    assert status == 200, body
    [item] = body["items"]
    by_code = await api.client.get(f"/api/v1/public/tickets/{t['query_code']}?phone=13812345678")
    assert item == await by_code.json()
    text = str(body)
    assert "13900006666" not in text and "11010519491231002X" not in text and "张先生" not in text
    assert t["number"] not in text and "13812345678" not in text


async def test_every_miss_is_the_same_not_found(api: TicketsApi) -> None:
    await api.new_ticket()  # 13812345678, ID card ...071234
    await api.new_ticket(phone="13700001111", id_card="")
    answers = [await _lookup(api, "13812345678", "999999"),   # the number filed, wrong tail
               await _lookup(api, "13700001111", "071234"),   # the number filed, without an ID card
               await _lookup(api, "13611112222", "071234")]   # the number never filed
    assert {s for s, _ in answers} == {404}
    assert len({str(b) for _, b in answers}) == 1
    assert answers[0][1]["error_id"] == "not_found" and "身份证" in answers[0][1]["message"]


async def test_the_phone_is_found_however_it_is_typed(api: TicketsApi) -> None:
    await api.new_ticket(phone="0931-8888888", id_card="620102198001011234")
    for typed in ("09318888888", "0931-8888888", "(0931)8888888"):
        status, body = await _lookup(api, typed, "011234")
        assert status == 200 and len(body["items"]) == 1, typed


async def test_bad_input_is_a_chinese_400(api: TicketsApi) -> None:
    status, body = await _lookup(api, "13812345678", "12345")
    assert status == 400 and body["details"][0]["field"] == "id_card_tail" and "格式" in body["message"]
    status, body = await _lookup(api, "1381234567", "071234")
    assert status == 400 and body["details"][0]["field"] == "phone" and "手机号码应为11位" in body["message"]


async def test_rate_limited_per_address_and_per_phone(api: TicketsApi) -> None:
    await api.new_ticket()
    statuses = [(await _lookup(api, "13812345678", f"{n:06d}"))[0] for n in range(30)]
    assert 429 in statuses and set(statuses[:15]) == {404}
    _, body = await _lookup(api, "13812345678", "071234")
    assert body["error_id"] == "too_many_requests" and "频繁" in body["message"]
