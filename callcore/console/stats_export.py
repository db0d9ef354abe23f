"""The S-1 statistics of a period as a spreadsheet a leader files or forwards: the rows the
statistics page shows (``callcore.tickets.stats``), headed in Chinese, rates as percentages.

The figures are the statistics' own; this module only lays them out, so the page and the file
never disagree."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook

from callcore.tickets.export import XLSX, ExportFile
from callcore.tickets.stats import DepartmentStats

# (field of DepartmentStats, column heading), in the order of the statistics page.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("department", "单位"), ("received", "收件"), ("signed", "签收"), ("returned", "退回"), ("closed", "办结"),
    ("closed_on_time", "按时办结"), ("on_time_rate", "按时办结率"), ("extended", "延期"), ("urged", "催办"),
    ("redone", "重办"), ("rated", "已评价"), ("satisfied", "满意"), ("satisfaction_rate", "满意率"),
    ("open_overdue", "超期未办结"),
)
RATES = frozenset({"on_time_rate", "satisfaction_rate"})


def department_stats_file(rows: Sequence[DepartmentStats], start: date, end: date) -> ExportFile:
    """One sheet named by the period: a heading row, then a row per department (a rate with
    nothing to rate stays empty rather than 0%)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has its first sheet
    ws.title = f"S-1 {start.isoformat()}至{end.isoformat()}"
    ws.append([heading for _, heading in COLUMNS])
    for r in rows:
        ws.append([getattr(r, field) for field, _ in COLUMNS])
    for col, (field, _) in enumerate(COLUMNS, start=1):
        if field in RATES:
            for (c,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                c.number_format = "0.0%"
    ws.column_dimensions["A"].width = 24
    out = io.BytesIO()
    wb.save(out)
    name = f"s1-{start.strftime('%Y%m%d')}-{end.strftime('%Y%m%d')}.xlsx"
    return ExportFile(body=out.getvalue(), content_type=XLSX, charset=None, filename=name)
