"""A dispatcher's day over the API (issue 14): reclassify a ticket, approve a shorter extension than
asked, pause and resume the deadline, a leader's instructions, the first-responsible member of staff,
a returned ticket read by its department, an urge notice printed; the 2027 flag on the ticket and in
health. Dates are computed with the calendar, so the journey holds on any day it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from callcore.accounts.plugin import AccountsPlugin
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.calendar import local_date
from callcore.tickets.plugin import TicketsPlugin
from callcore.tickets.services import TicketService
from tests.accounts.staff import staff_api
from tests.apps import context
from tests.tickets.api import TicketsApi
from tests.tickets.conftest import TEST_SETTINGS
from tests.tickets.holidays import OnlyYears


async def test_a_dispatchers_day(api: TicketsApi) -> None:
    t = await api.new_ticket(category="help", content="小区北门路灯坏了，夜里有安全隐患")
    assert t["first_responsible_name"] and t["first_responsible_id"] and t["deadline_unverified"] in (True, False)
    s, out = await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    assert s == 200 and out["status"] == "dispatched"
    assert (await api.act(t["id"], "handler_a", "sign"))[0] == 200
    # Reclassify: a complaint, so 15 working days from the same day instead of 5.
    s, out = await api.act(t["id"], "dispatcher", "reclassify", category="complaint", reason="市民投诉物业不作为")
    assert s == 200 and out["category"] == "complaint" and out["due_date"] > t["due_date"], out
    entry = out["history"][-1]
    assert (entry["action"], entry["action_text"], entry["data"]["from_category"]) == ("reclassify", "更正类别", "help")
    due = date.fromisoformat(out["due_date"])
    # The department asks for 20 more days; the centre grants 10.
    asked, granted = due + timedelta(days=20), due + timedelta(days=10)
    s, out = await api.act(t["id"], "handler_a", "request_extension", until=asked.isoformat(), reason="需协调施工")
    assert s == 200 and out["extension_until"] == asked.isoformat()
    s, err = await api.act(t["id"], "dispatcher", "approve_extension", until=due.isoformat())
    assert s == 400 and err["details"][0]["field"] == "until"
    s, err = await api.act(t["id"], "dispatcher", "approve_extension", until=(asked + timedelta(days=1)).isoformat())
    assert s == 400
    s, out = await api.act(t["id"], "dispatcher", "approve_extension", until=granted.isoformat())
    assert s == 200 and out["due_date"] == granted.isoformat() and out["extension_until"] is None
    # Pause for a site survey and resume the same day: the clock stopped for no working day.
    s, out = await api.act(t["id"], "handler_a", "pause", kind="survey", reason="需现场踏勘")
    assert s == 200 and (out["status"], out["pause_kind"], out["colour"]) == ("paused", "survey", "green")
    assert out["status_text"] == "办理中（暂停计时）" and out["paused_on"] == local_date(utcnow()).isoformat()
    s, out = await api.act(t["id"], "handler_a", "reply", reply="已修复")
    assert s == 409
    s, out = await api.act(t["id"], "dispatcher", "resume")
    assert s == 200 and (out["status"], out["due_date"], out["paused_on"]) == ("processing", granted.isoformat(), None)
    # A leader's instructions; the department reads them in the history.
    s, out = await api.act(t["id"], "leader", "instruct", instructions="请尽快修复，确保夜间安全")
    assert s == 200
    s, out = await api.call("GET", f"/api/v1/tickets/{t['id']}", "handler_a")
    assert [e["action"] for e in out["history"]] == [
        "create", "dispatch", "sign", "reclassify", "request_extension", "approve_extension", "pause", "resume",
        "instruct"]
    assert out["history"][-1]["data"]["instructions"] == "请尽快修复，确保夜间安全"
    assert out["first_responsible_id"] == t["first_responsible_id"]
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip", "handler_a")
    slip = body.decode()
    assert "首问负责人" in slip and t["first_responsible_name"] in slip and "领导批示：请尽快修复" in slip
    assert "更正类别：市民投诉物业不作为" in slip
    # Corrections of address and content, each with why.
    s, out = await api.act(t["id"], "dispatcher", "correct", field="address", value="幸福小区北门", reason="补充地址")
    assert s == 200 and out["address"] == "幸福小区北门"
    s, err = await api.act(t["id"], "dispatcher", "correct", field="phone", value="1", reason="x")
    assert s == 400 and err["details"][0]["field"] == "field"
    # The reply does not need the citizen's satisfaction.
    s, out = await api.act(t["id"], "handler_a", "reply", reply="路灯已更换")
    assert s == 200 and out["status"] == "replied" and out["satisfaction"] is None
    s, err = await api.act(t["id"], "dispatcher", "recompute")
    assert s == 400 and err["details"][0]["field"] == "action"  # a system step, not offered to people


async def test_a_returned_ticket_and_an_urge_notice(api: TicketsApi) -> None:
    old = (utcnow() - timedelta(days=40)).isoformat()
    t = await api.new_ticket(category="help", received_at=old)
    await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    s, out = await api.act(t["id"], "handler_a", "return", reason="非本单位职责")
    assert s == 200 and out["status"] == "returned" and out["history"], out
    s, out = await api.call("GET", f"/api/v1/tickets/{t['id']}", "handler_a")
    assert s == 200 and out["history"][-1]["action"] == "return"
    assert (await api.act(t["id"], "handler_a", "note", note="补充"))[0] == 403
    await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-b")
    s, err = await api.call("GET", f"/api/v1/tickets/{t['id']}/urge-notice", "dispatcher")
    assert s == 404 and err["error_id"] == "urge_not_found"
    s, out = await api.act(t["id"], "dispatcher", "urge")
    assert s == 200 and out["urge_count"] == 1
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/urge-notice", "handler_b")
    page = body.decode()
    assert s == 200 and "催办通知书" in page and "第1次" in page and "b单位" in page and t["number"] in page
    assert "人工催办（" in page
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/urge-notice?format=pdf&number=1", "dispatcher")
    assert s == 200 and body.startswith(b"%PDF")
    assert (await api.call("GET", f"/api/v1/tickets/{t['id']}/urge-notice?number=2", "dispatcher"))[0] == 404
    assert (await api.call("GET", f"/api/v1/tickets/{t['id']}/urge-notice", "handler_a"))[0] == 200  # its history


async def test_slip_and_notice_times_are_beijing_time(api: TicketsApi) -> None:
    t = await api.new_ticket(received_at=(utcnow() - timedelta(days=1)).replace(hour=17, minute=30).isoformat())
    s, body = await api.call("GET", f"/api/v1/tickets/{t['id']}/slip", "dispatcher")
    assert s == 200 and " 01:30" in body.decode()  # 17:30 UTC is 01:30 the next day in Beijing


@pytest.fixture
async def api_2026_only(db: Database, tmp_path: Path) -> AsyncIterator[tuple[TicketsApi, TicketService]]:
    ctx = context(db, tmp_path, tickets=TEST_SETTINGS)
    async with staff_api(db, tmp_path, [AccountsPlugin, TicketsPlugin], TicketsApi, ctx=ctx) as staff:
        service = ctx.get(TicketService)
        await service.deadlines()  # the default categories seeded
        service.holidays = OnlyYears(2026)
        await service.reload()
        yield staff, service


async def test_the_2027_flag_on_the_ticket_and_in_health(api_2026_only: tuple[TicketsApi, TicketService]) -> None:
    api, _ = api_2026_only
    s, health = await api.call("GET", "/api/v1/health", "nobody")
    assert s == 200 and health["warnings"] == {}
    t = await api.new_ticket(category="report", received_at="2026-12-01T02:00:00Z")
    assert (t["due_date"], t["deadline_unverified"]) == ("2027-01-12", True)
    s, health = await api.call("GET", "/api/v1/health", "nobody")
    assert s == 200 and health["status"] == "ok" and "1 open tickets" in health["warnings"]["holiday_calendar"]
    s, cal = await api.call("GET", "/api/v1/calendar", "agent")
    assert s == 200 and all(v is False for y, v in cal["covered_years"].items() if int(y) > 2026)
    assert (await api.call("PUT", "/api/v1/calendar/2027-01-01", "admin", json={"workday": False, "note": "元旦"}))[0] == 200
    s, out = await api.call("GET", f"/api/v1/tickets/{t['id']}", "dispatcher")
    assert (out["due_date"], out["deadline_unverified"]) == ("2027-01-13", False)
    assert (out["history"][-1]["action"], out["history"][-1]["role"]) == ("recompute", "system")
    s, health = await api.call("GET", "/api/v1/health", "nobody")
    assert health["warnings"] == {}
