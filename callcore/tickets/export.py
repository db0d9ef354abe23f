"""Exports of a filtered ticket list as CSV and XLSX (openpyxl), personal data masked (A-2),
restricted to the tickets the reader sees (A-1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from openpyxl import Workbook

from callcore.accounts import departments
from callcore.core.identity import Principal
from callcore.core.privacy import mask_id_card, mask_phone, scrub
from callcore.store.base import utcnow
from callcore.tickets import queries
from callcore.tickets.calendar import LOCAL_TZ
from callcore.tickets.deadlines import colour_of
from callcore.tickets.models import Ticket
from callcore.tickets.services import TicketService
from callcore.tickets.workflow import STATUS_TEXT

HEADERS = ("工单编号", "受理时间", "渠道", "类别", "来电人", "联系电话", "身份证号", "地址", "诉求内容", "状态",
           "主办单位", "办理时限", "颜色", "催办次数", "满意度")
COLOUR_TEXT = {"green": "绿", "yellow": "黄", "red": "红"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["csv", "xlsx"]


@dataclass(frozen=True, kw_only=True)
class ExportFile:
    body: bytes
    content_type: str
    charset: str | None
    filename: str


# What makes a spreadsheet take a cell for a formula (OWASP "CSV injection"): such text is exported
# with a leading apostrophe, so =HYPERLINK(...) typed by a citizen stays text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def row(t: Ticket, today: date, yellow_until: date, departments: dict[str, str]) -> list[str | int]:
    """One ticket's cells: numbers masked, and so are numbers typed inside the free text (A-2)."""
    colour = colour_of(t.status, t.due_date, t.closed_on_time, today, yellow_until)
    return [t.number, t.received_at.isoformat(timespec="seconds"), cell(t.channel), cell(t.category),
            cell(scrub(t.caller_name)), mask_phone(t.phone), mask_id_card(t.id_card), cell(scrub(t.address)),
            cell(scrub(t.content)), STATUS_TEXT.get(t.status, t.status), cell(departments.get(t.department_id or "", "")),
            t.due_date.isoformat(), COLOUR_TEXT[colour], t.urge_count, cell(t.satisfaction or "")]


def to_csv(rows: Iterable[list[str | int]]) -> bytes:
    """UTF-8 with a BOM so that Excel opens the Chinese text correctly."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[list[str | int]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("工单")
    ws.append(list(HEADERS))
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def export_tickets(service: TicketService, who: Principal, f: queries.TicketFilter, fmt: Format, *,
                         now: datetime | None = None) -> ExportFile:
    """The tickets of the filter ``who`` may see, at most ``export_max_rows``, as one file named by
    the local time of the export."""
    now = now or utcnow()
    dl = await service.deadlines()
    today, yellow = await service.colour_days(now)
    names = await departments.names(service.db)
    rows = [row(t, today, yellow, names)
            async for t in queries.stream(service.db, who, f, dl, today, service.settings.export_max_rows)]
    filename = f"tickets-{now.astimezone(LOCAL_TZ).strftime('%Y%m%d%H%M')}.{fmt}"
    if fmt == "xlsx":
        return ExportFile(body=to_xlsx(rows), content_type=XLSX, charset=None, filename=filename)
    return ExportFile(body=to_csv(rows), content_type="text/csv", charset="utf-8", filename=filename)
