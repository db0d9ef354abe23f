"""Exports (A-2, OWASP CSV injection): numbers typed in free text are masked, formulas stay text."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from openpyxl import load_workbook

from callcore.tickets.export import cell, row, to_csv, to_xlsx
from callcore.tickets.models import Ticket


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
    cells = row(ticket(), date(2026, 12, 1), date(2026, 12, 8), {})
    text = "|".join(str(c) for c in cells)
    for whole in ("13912345678", "13900006666", "11010519491231002X"):
        assert whole not in text
    assert cells[7] == "'=HYPERLINK(\"http://x\",\"点我\")"
    for value in ("+1", "-2", "@SUM(A1)", "\t=1", "\r=1"):
        assert cell(value).startswith("'")
    assert cell("路灯不亮") == "路灯不亮" and cell("") == ""


def test_csv_and_xlsx_carry_the_neutralised_cells() -> None:
    cells = row(ticket(), date(2026, 12, 1), date(2026, 12, 8), {})
    rows = list(csv.reader(io.StringIO(to_csv([cells]).decode("utf-8-sig"))))
    assert rows[1][7].startswith("'=")
    ws = load_workbook(io.BytesIO(to_xlsx([cells]))).active
    assert ws is not None
    value = ws.cell(row=2, column=8).value
    assert isinstance(value, str) and value.startswith("'=") and ws.cell(row=2, column=8).data_type == "s"
