"""Exports of a filtered ticket list as CSV and XLSX (openpyxl), personal data masked (A-2),
restricted to the tickets the reader sees (A-1), for people: coded values in Chinese, times in the
hotline's time zone (Asia/Shanghai), not UTC."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from openpyxl import Workbook

from callcore.core.identity import Principal
from callcore.core.privacy import mask_id_card, mask_phone, scrub
from callcore.store.base import utcnow
from callcore.tickets import names, queries
from callcore.tickets.calendar import LOCAL_TZ
from callcore.tickets.deadlines import colour_of
from callcore.tickets.models import Ticket
from callcore.tickets.names import Names
from callcore.tickets.services import TicketService
from callcore.tickets.vocabulary import COLOUR_TEXT, text_of
from callcore.tickets.workflow import STATUS_TEXT

HEADERS = ("工单编号", "受理时间", "渠道", "类别", "来电人", "联系电话", "身份证号", "地址", "诉求内容", "状态",
           "主办单位", "办理时限", "颜色", "催办次数", "满意度", "紧急程度", "不予受理原因", "办结时间")
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


def local_time(at: datetime | None) -> str:
    """A moment as the hotline's people read it: local time (Asia/Shanghai), to the second."""
    return "" if at is None else at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def row(t: Ticket, today: date, yellow_until: date, known: Names) -> list[str | int]:
    """One ticket's cells: numbers masked, and so are numbers typed inside the free text (A-2)."""
    colour = colour_of(t.status, t.due_date, t.closed_on_time, today, yellow_until)
    return [t.number, local_time(t.received_at), text_of("channel", t.channel), cell(known.category(t.category)),
            cell(scrub(t.caller_name)), mask_phone(t.phone), mask_id_card(t.id_card), cell(scrub(t.address)),
            cell(scrub(t.content)), STATUS_TEXT.get(t.status, t.status), cell(known.department(t.department_id) or ""),
            t.due_date.isoformat(), COLOUR_TEXT[colour], t.urge_count, text_of("satisfaction", t.satisfaction),
            text_of("urgency", t.urgency), text_of("reason", t.reject_reason), local_time(t.closed_at)]


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
    known = await names.load(service.db)
    rows = [row(t, today, yellow, known)
            async for t in queries.stream(service.db, who, f, dl, today, service.settings.export_max_rows)]
    filename = f"tickets-{now.astimezone(LOCAL_TZ).strftime('%Y%m%d%H%M')}.{fmt}"
    if fmt == "xlsx":
        return ExportFile(body=to_xlsx(rows), content_type=XLSX, charset=None, filename=filename)
    return ExportFile(body=to_csv(rows), content_type="text/csv", charset="utf-8", filename=filename)
