"""Categories and deadlines, calendar overrides, statistics through the API; and departments
(``callcore/accounts/http.py``) as the ticket workflow sees them: an inactive one takes no dispatch."""

from __future__ import annotations

from callcore.store.base import utcnow
from callcore.tickets.calendar import covered, local_date
from tests.tickets.api import TicketsApi


async def test_departments(api: TicketsApi) -> None:
    s, out = await api.call("POST", "/api/v1/departments", "admin", json={"code": "water", "name": "自来水公司"})
    assert s == 201
    assert (await api.call("POST", "/api/v1/departments", "admin", json={"code": "water", "name": "x"}))[0] == 409
    assert (await api.call("POST", "/api/v1/departments", "supervisor", json={"code": "w2", "name": "x"}))[0] == 403
    s, out = await api.call("PATCH", f"/api/v1/departments/{out['id']}", "admin", json={"active": False})
    assert s == 200 and out["active"] is False
    t = await api.new_ticket()
    s, err = await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id=out["id"])
    assert s == 400 and "department_id" in err["message"]
    s, deps = await api.call("GET", "/api/v1/departments", "handler_a")
    assert "water" in [d["code"] for d in deps]


async def test_category_limits_and_calendar_drive_deadlines(api: TicketsApi) -> None:
    s, cats = await api.call("GET", "/api/v1/categories", "agent")
    limits = {c["code"]: c["limit_days"] for c in cats}
    assert limits == {"complaint": 15, "consultation": 5, "criticism": 15, "emergency": 0, "help": 5, "praise": 15,
                      "report": 30, "suggestion": 15}
    s, out = await api.call("PUT", "/api/v1/categories/pothole", "admin", json={"name": "道路坑洼", "limit_days": 3})
    assert s == 200
    t = await api.new_ticket(category="pothole", received_at="2026-09-30T02:00:00Z")
    assert t["due_date"] == "2026-10-10"  # National Day week: 8, 9 and the make-up Saturday 10 Oct
    s, out = await api.call("PUT", "/api/v1/calendar/2026-10-09", "admin", json={"workday": False, "note": "测试"})
    assert s == 200
    t = await api.new_ticket(category="pothole", received_at="2026-09-30T02:00:00Z")
    assert t["due_date"] == "2026-10-12"
    s, cal = await api.call("GET", "/api/v1/calendar", "agent")
    assert cal["overrides"] == [{"day": "2026-10-09", "workday": False, "note": "测试"}]
    # Whatever year the installed holiday package has reached: the API reports what the package says.
    this_year = local_date(utcnow()).year
    assert cal["holiday_data_years"] == {str(y): covered(y) for y in range(this_year - 1, this_year + 2)}
    assert set(cal["covered_years"]) == set(cal["holiday_data_years"])
    assert (await api.call("DELETE", "/api/v1/calendar/2026-10-09", "admin"))[0] == 204
    assert (await api.call("DELETE", "/api/v1/calendar/2026-10-09", "admin"))[0] == 404
    s, err = await api.call("PUT", "/api/v1/calendar/not-a-day", "admin", json={"workday": True})
    assert s == 400 and err["details"][0]["field"] == "day"
    s, err = await api.call("PUT", "/api/v1/categories/x", "admin", json={"name": "x", "limit_days": -1})
    assert s == 400 and err["details"][0]["field"] == "limit_days"


async def test_stats_endpoint(api: TicketsApi) -> None:
    t = await api.new_ticket(category="help")
    await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    await api.act(t["id"], "handler_a", "sign")
    await api.act(t["id"], "handler_a", "reply", reply="好", satisfaction="satisfied")
    await api.act(t["id"], "dispatcher", "close")
    year = local_date(utcnow()).year  # the ticket is today's
    period = f"start={year}-01-01&end={year}-12-31"
    s, rows = await api.call("GET", f"/api/v1/stats/departments?{period}", "leader")
    assert s == 200
    a = next(r for r in rows if r["department_id"] == "dep-a")
    assert (a["received"], a["signed"], a["closed"], a["on_time_rate"], a["satisfaction_rate"]) == (1, 1, 1, 1.0, 1.0)
    s, err = await api.call("GET", "/api/v1/stats/departments?start=2026-02-01&end=2026-01-01", "leader")
    assert s == 400
    # Issue 14: a handler reads the own department's figures, and only those.
    s, rows = await api.call("GET", f"/api/v1/stats/departments?{period}", "handler_a")
    assert s == 200 and [r["department_id"] for r in rows] == ["dep-a"] and rows[0]["received"] == 1
    s, rows = await api.call("GET", f"/api/v1/stats/departments?{period}&department_id=dep-a", "handler_a")
    assert s == 200 and [r["department_id"] for r in rows] == ["dep-a"]
    s, err = await api.call("GET", "/api/v1/stats/departments?start=2026-01-01&end=2026-01-31&department_id=dep-b",
                            "handler_a")
    assert s == 403 and err["error_id"] == "not_permitted"
