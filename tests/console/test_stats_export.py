"""The S-1 statistics of a period as a spreadsheet (the statistics page's download): the same figures
as ``GET /stats/departments``, for the roles that read statistics, and a bad period changes nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from callcore.accounts.plugin import AccountsPlugin
from callcore.console.plugin import ConsolePlugin
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.calendar import local_date
from callcore.tickets.plugin import TicketsPlugin
from tests.accounts.staff import staff_api
from tests.tickets.api import TicketsApi

EXPORT = "/api/v1/console/stats/departments/export"


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[TicketsApi]:
    async with staff_api(db, tmp_path, [AccountsPlugin, TicketsPlugin, ConsolePlugin], TicketsApi) as staff:
        yield staff


async def test_the_s1_file_holds_the_statistics_of_the_period_with_chinese_headings(api: TicketsApi) -> None:
    t = await api.new_ticket(category="help")
    await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    await api.act(t["id"], "handler_a", "sign")
    await api.act(t["id"], "handler_a", "reply", reply="已处理", satisfaction="satisfied")
    await api.act(t["id"], "dispatcher", "close")
    # The year the ticket was received in: the tickets are today's.
    year = local_date(utcnow()).year
    period = f"start={year}-01-01&end={year}-12-31"
    _, rows = await api.call("GET", f"/api/v1/stats/departments?{period}", "leader")

    r = await api.client.get(f"{EXPORT}?{period}", headers=api.headers["leader"])
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert r.headers["Content-Disposition"] == f'attachment; filename="s1-{year}0101-{year}1231.xlsx"'
    sheet = load_workbook(io.BytesIO(await r.read())).active
    assert sheet is not None and sheet.title == f"S-1 {year}-01-01至{year}-12-31"
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0][:7] == ["单位", "收件", "签收", "退回", "办结", "按时办结", "按时办结率"]
    assert [row[0] for row in table[1:]] == [row["department"] for row in rows]
    a = next(row for row in table[1:] if row[0] == "a单位")
    assert (a[1], a[2], a[4], a[6], a[12]) == (1, 1, 1, 1.0, 1.0)
    assert sheet.cell(row=2, column=7).number_format == "0.0%"
    # A department with nothing rated has an empty rate, not 0%.
    b = next(row for row in table[1:] if row[0] == "b单位")
    assert b[12] is None


async def test_the_s1_file_is_for_statistics_readers_and_refuses_a_bad_period(api: TicketsApi) -> None:
    for who in ("leader", "supervisor", "dispatcher", "admin"):
        status, _ = await api.call("GET", f"{EXPORT}?start=2026-01-01&end=2026-01-31", who)
        assert status == 200, who
    for who, expected in (("agent", 403), ("handler_a", 403), ("nobody", 401)):
        assert (await api.call("GET", f"{EXPORT}?start=2026-01-01&end=2026-01-31", who))[0] == expected, who
    status, err = await api.call("GET", f"{EXPORT}?start=2026-02-01&end=2026-01-01", "leader")
    assert status == 400 and err["error_id"] == "invalid_input"
    status, err = await api.call("GET", f"{EXPORT}?start=2026-02-30&end=2026-03-01", "leader")
    assert status == 400 and err["details"][0]["field"] == "start"
