"""Open311 GeoReport v2 as the standard has it (issue 14): third-party clients with an ``api_key``
an admin issues (scoped, stored hashed, revocable), ``GET requests`` with its filters, and XML as
well as JSON."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from sqlalchemy import select

from callcore.accounts.models import ApiKey
from tests.tickets.api import TicketsApi

BASE = "/api/v1/open311/v2"


async def _key(api: TicketsApi, *scopes: str) -> dict[str, Any]:
    status, key = await api.call("POST", "/api/v1/admin/api-keys", json={"name": "城管平台", "scopes": list(scopes)})
    assert status == 201, key
    return key  # type: ignore[no-any-return]


async def _file(api: TicketsApi, key: str, **over: str) -> str:
    r = await api.client.post(f"{BASE}/requests.json", data={
        "api_key": key, "service_code": "help", "description": "井盖缺失，联系13900001111", "address_string": "幸福路口",
        "first_name": "明", "last_name": "王", "phone": "13900001111", **over})
    assert r.status == 201, await r.text()
    return str((await r.json())[0]["service_request_id"])


async def test_keys_are_issued_by_admins_stored_hashed_and_revocable(api: TicketsApi) -> None:
    assert (await api.call("POST", "/api/v1/admin/api-keys", "dispatcher", json={"name": "x", "scopes": ["read"]}))[0] == 403
    key = await _key(api, "read", "create")
    assert key["key"].startswith(key["prefix"]) and key["scopes"] == ["create", "read"]
    async with api.db.session() as s:
        row = await s.scalar(select(ApiKey))
    assert row is not None and key["key"] not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    status, listed = await api.call("GET", "/api/v1/admin/api-keys")
    assert status == 200 and "key" not in listed[0] and listed[0]["revoked_at"] is None
    number = await _file(api, key["key"])
    status, revoked = await api.call("DELETE", f"/api/v1/admin/api-keys/{key['id']}")
    assert status == 200 and revoked["revoked_at"] is not None
    r = await api.client.get(f"{BASE}/requests/{number}.json", params={"api_key": key["key"]})
    body = await r.json()
    assert r.status == 401 and body["error_id"] == "invalid_api_key" and "密钥" in body["message"]
    assert (await api.call("DELETE", "/api/v1/admin/api-keys/nope"))[0] == 404


async def test_scopes_are_enforced(api: TicketsApi) -> None:
    reader, writer = await _key(api, "read"), await _key(api, "create")
    r = await api.client.post(f"{BASE}/requests.json", data={"api_key": reader["key"], "service_code": "help",
                                                              "description": "路灯不亮"})
    assert r.status == 403 and "提交" in (await r.json())["message"]
    number = await _file(api, writer["key"])
    r = await api.client.get(f"{BASE}/requests/{number}.json", params={"api_key": writer["key"]})
    assert r.status == 403
    r = await api.client.get(f"{BASE}/requests/{number}.json", params={"api_key": reader["key"]})
    assert r.status == 200 and (await r.json())[0]["service_request_id"] == number
    r = await api.client.get(f"{BASE}/requests.json")
    assert r.status == 401 and (await r.json())["error_id"] == "unauthorized"
    r = await api.client.get(f"{BASE}/requests.json", params={"api_key": "cc311_guessed"})
    assert r.status == 401 and (await r.json())["error_id"] == "invalid_api_key"


async def test_a_filed_request_is_an_open311_ticket_named_after_the_key(api: TicketsApi) -> None:
    number = await _file(api, (await _key(api, "create"))["key"])
    status, tickets = await api.call("GET", f"/api/v1/tickets?number={number}", "dispatcher")
    t = tickets["items"][0]
    assert status == 200 and t["channel"] == "open311"
    status, full = await api.call("GET", f"/api/v1/tickets/{t['id']}", "dispatcher")
    assert "城管平台" in full["history"][0]["actor_name"]


async def test_requests_with_the_standard_filters(api: TicketsApi) -> None:
    key = (await _key(api, "read", "create"))["key"]
    help1 = await _file(api, key)
    help2 = await _file(api, key, description="路灯不亮")
    await api.call("PUT", "/api/v1/categories/complaint", json={"name": "投诉", "limit_days": 15})
    complaint = await _file(api, key, service_code="complaint", description="噪音扰民")
    status, t = await api.call("GET", f"/api/v1/tickets?number={help2}", "dispatcher")
    await api.act(t["items"][0]["id"], "dispatcher", "reject", reason="unlawful")

    async def ids(**params: str) -> list[str]:
        r = await api.client.get(f"{BASE}/requests.json", params={"api_key": key, **params})
        assert r.status == 200, await r.text()
        return sorted(x["service_request_id"] for x in await r.json())

    assert await ids() == sorted([help1, help2, complaint])
    assert await ids(service_request_id=f"{help1},{complaint}") == sorted([help1, complaint])
    assert await ids(service_code="help") == sorted([help1, help2])
    assert await ids(status="closed") == [help2]
    assert await ids(status="open") == sorted([help1, complaint])
    assert await ids(start_date="2099-01-01T00:00:00+08:00") == []
    assert await ids(end_date="2000-01-01T00:00:00Z") == []
    r = await api.client.get(f"{BASE}/requests.json", params={"api_key": key, "status": "pending"})
    body = await r.json()
    assert r.status == 400 and body["details"][0]["field"] == "status" and "open" in body["message"]
    r = await api.client.get(f"{BASE}/requests.json", params={"api_key": key})
    item = next(x for x in await r.json() if x["service_request_id"] == help1)
    assert "13900001111" not in str(item) and "王" not in str(item) and item["description"].startswith("井盖缺失")


async def test_xml_as_well_as_json(api: TicketsApi) -> None:
    key = (await _key(api, "read", "create"))["key"]
    r = await api.client.get(f"{BASE}/services.xml")
    assert r.status == 200 and r.content_type == "application/xml"
    root = ElementTree.fromstring(await r.read())
    assert root.tag == "services" and any(s.findtext("service_code") == "help" and s.findtext("service_name") == "求助"
                                          for s in root.findall("service"))
    r = await api.client.post(f"{BASE}/requests.xml", data={"api_key": key, "service_code": "help",
                                                             "description": "井盖缺失\x01"})
    err = ElementTree.fromstring(await r.read())
    assert r.status == 400 and err.findtext("error/field") == "description" and err.findtext("error/code") == "400"
    assert "控制字符" in (err.findtext("error/description") or "")
    r = await api.client.post(f"{BASE}/requests.xml", data={"api_key": key, "service_code": "help",
                                                             "description": "井盖缺失"})
    assert r.status == 201, await r.text()
    created = ElementTree.fromstring(await r.read())
    number = created.findtext("request/service_request_id")
    assert created.tag == "service_requests" and number and "查询码" in (created.findtext("request/service_notice") or "")
    r = await api.client.get(f"{BASE}/requests.xml", params={"api_key": key, "service_request_id": number})
    [req] = ElementTree.fromstring(await r.read()).findall("request")
    assert req.findtext("status") == "open" and req.findtext("service_code") == "help"
    assert req.findtext("description") == "井盖缺失" and req.findtext("lat") == ""
    r = await api.client.get(f"{BASE}/requests/{number}.xml", params={"api_key": key})
    assert ElementTree.fromstring(await r.read()).findtext("request/service_request_id") == number
    r = await api.client.get(f"{BASE}/requests/99999.xml", params={"api_key": key})
    err = ElementTree.fromstring(await r.read())
    assert r.status == 404 and err.tag == "errors" and err.findtext("error/code") == "404"
    assert "工单" in (err.findtext("error/description") or "")
