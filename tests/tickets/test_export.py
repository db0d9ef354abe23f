"""Exports (A-2, OWASP CSV injection): numbers typed in free text are masked, formulas stay text; coded
values in Chinese and times in the hotline's time zone (issue 14)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from openpyxl import load_workbook

from callcore.tickets.export import HEADERS, cell, row, to_csv, to_xlsx
from callcore.tickets.models import Ticket
from callcore.tickets.names import Names


def ticket(**kw: object) -> Ticket:
    values: dict[str, object] = dict(
        id="t1", number="20261201000001", query_code="12345678", channel="phone", caller_name="张三13912345678",
        phone="13912345678", id_card="11010519491231002X", address="=HYPERLINK(\"http://x\",\"点我\")",
        category="help", content="电话13900006666，身份证11010519491231002X", status="new",
        received_at=datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc), due_date=date(2026, 12, 10), urge_count=0,
        satisfaction=None, department_id=None, closed_on_time=None)
    values.update(kw)
    return Ticket(**values)


def test_free_text_numbers_are_masked_and_formulas_are_text() -> None:
    cells = row(ticket(), date(2026, 12, 1), date(2026, 12, 8), Names())
    text = "|".join(str(c) for c in cells)
    for whole in ("13912345678", "13900006666", "11010519491231002X"):
        assert whole not in text
    assert cells[7] == "'=HYPERLINK(\"http://x\",\"点我\")"
    for value in ("+1", "-2", "@SUM(A1)", "\t=1", "\r=1"):
        assert cell(value).startswith("'")
    assert cell("路灯不亮") == "路灯不亮" and cell("") == ""


def test_csv_and_xlsx_carry_the_neutralised_cells() -> None:
    cells = row(ticket(), date(2026, 12, 1), date(2026, 12, 8), Names())
    rows = list(csv.reader(io.StringIO(to_csv([cells]).decode("utf-8-sig"))))
    assert rows[1][7].startswith("'=")
    ws = load_workbook(io.BytesIO(to_xlsx([cells]))).active
    assert ws is not None
    value = ws.cell(row=2, column=8).value
    assert isinstance(value, str) and value.startswith("'=") and ws.cell(row=2, column=8).data_type == "s"


def test_coded_values_print_in_chinese_and_times_in_shanghai() -> None:
    known = Names(departments={"dep-a": "城关区住建局"}, categories={"help": "求助"})
    t = ticket(status="closed", satisfaction="basically_satisfied", department_id="dep-a", urgency="urgent",
               channel="web", closed_at=datetime(2026, 12, 3, 16, 30, tzinfo=timezone.utc), closed_on_time=True)
    cells = dict(zip(HEADERS, row(t, date(2026, 12, 1), date(2026, 12, 8), known)))
    # 02:00 UTC is 10:00 in Beijing; 16:30 UTC on the 3rd is 00:30 on the 4th.
    assert cells["受理时间"] == "2026-12-01 10:00:00" and cells["办结时间"] == "2026-12-04 00:30:00"
    assert (cells["渠道"], cells["类别"], cells["状态"], cells["主办单位"]) == ("网站", "求助", "已办结", "城关区住建局")
    assert (cells["满意度"], cells["紧急程度"], cells["颜色"]) == ("基本满意", "紧急", "绿")
    rejected = dict(zip(HEADERS, row(ticket(status="rejected", reject_reason="out_of_jurisdiction"),
                                     date(2026, 12, 1), date(2026, 12, 8), known)))
    assert rejected["不予受理原因"] == "不属本辖区管辖" and rejected["办结时间"] == ""
