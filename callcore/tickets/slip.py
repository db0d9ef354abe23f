"""The transfer slip (转办单, W-16): one page per ticket, printable HTML and PDF, in Chinese.

The PDF is drawn with fpdf2 (pure Python) and a CJK font embedded as a subset; the font is
looked up among Debian's packages (fonts-wqy-microhei, fonts-noto-cjk) or ``CALLCORE_CJK_FONT``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from callcore.accounts import departments
from callcore.core.identity import PHONE_ROLES, Principal
from callcore.core.privacy import mask_phone, scrub
from callcore.tickets.calendar import LOCAL_TZ
from callcore.tickets.models import TicketEvent
from callcore.tickets.reference import category_name
from callcore.tickets.services import TicketService
from callcore.tickets.workflow import ACTION_TEXT, MODES, REJECT_REASONS, SATISFACTION, STATUS_TEXT

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


class FontMissing(RuntimeError):
    """No CJK font is installed; scripts/install-system.sh installs fonts-wqy-microhei."""


def cjk_font() -> Path:
    env = os.environ.get("CALLCORE_CJK_FONT")
    for p in ((env,) if env else ()) + FONT_CANDIDATES:
        if p and Path(p).is_file():
            return Path(p)
    raise FontMissing("no CJK font found: install fonts-wqy-microhei or set CALLCORE_CJK_FONT")


@dataclass(frozen=True, kw_only=True)
class SlipData:
    """What a 转办单 carries; phone is already masked or whole according to the reader's rights."""

    number: str
    received_at: str
    channel: str
    category: str
    urgency: str
    caller_name: str
    phone: str
    address: str
    title: str
    content: str
    mode: str | None
    department: str
    assisting: list[str]
    due_date: str
    sign_by: str
    status: str
    instructions: str
    first_responsible: str
    satisfaction: str | None
    history: list[tuple[str, str, str]]  # (time, who, what)

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("工单编号", self.number), ("受理时间", self.received_at), ("来源渠道", self.channel),
            ("问题类别", self.category), ("紧急程度", "紧急" if self.urgency == "urgent" else "一般"),
            ("来电人", self.caller_name or "—"), ("联系电话", self.phone or "—"), ("地址", self.address or "—"),
            ("办理方式", MODES.get(self.mode or "", "—")), ("主办单位", self.department or "—"),
            ("协办单位", "、".join(self.assisting) or "—"), ("签收时限", self.sign_by or "—"),
            ("办理时限", self.due_date), ("当前状态", STATUS_TEXT.get(self.status, self.status)),
            ("交办意见", self.instructions or "—"), ("首问负责人", self.first_responsible or "—"),
            ("满意度", SATISFACTION.get(self.satisfaction or "", "—")),
        ]


TITLE = "96881市民服务热线 工单转办单"
CHANNEL_TEXT = {"phone": "电话", "web": "网站", "sms": "短信", "mail": "信件", "open311": "网上平台"}


def local_time(at: datetime) -> str:
    """A time as printed for people: the hotline's time zone (Asia/Shanghai), never UTC."""
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


async def transfer_slip(service: TicketService, who: Principal, ref: str, *, reveal: bool = False) -> SlipData:
    """The slip of a ticket ``who`` may see; the phone masked, or whole with ``reveal`` for the roles
    allowed to see it (the view is audited like any reveal)."""
    view = await service.get(who, ref)
    t = view.ticket
    phone = mask_phone(t.phone)
    if reveal:
        phone = (await service.reveal(who, t.id, ["phone"]))["phone"]
    names = await departments.names(service.db)
    dispatch = next((e for e in reversed(view.events) if e.action == "dispatch"), None)
    # Numbers written in the text are printed as written only for the roles that may see a citizen's number.
    text: Callable[[str], str] = (lambda x: x) if who.role in PHONE_ROLES else scrub
    return SlipData(
        number=t.number, received_at=local_time(t.received_at), channel=CHANNEL_TEXT.get(t.channel, t.channel),
        category=await category_name(service.db, t.category), urgency=t.urgency, caller_name=text(t.caller_name),
        phone=phone, address=text(t.address), title=text(t.title), content=text(t.content), mode=t.mode,
        department=names.get(t.department_id or "", ""),
        assisting=[names.get(d.department_id, d.department_id) for d in view.departments if d.role == "assist"],
        due_date=t.due_date.isoformat(), sign_by=t.sign_by.isoformat() if t.sign_by else "", status=t.status,
        instructions=text(str((dispatch.data or {}).get("instructions", ""))) if dispatch else "",
        satisfaction=t.satisfaction, first_responsible=t.first_responsible_name or t.first_responsible_id or "",
        history=[(local_time(e.at), e.actor_name or e.actor_id, text(_what(e))) for e in view.events])


def _what(e: TicketEvent) -> str:
    """The step in words, with what people wrote on it (a leader's instructions, a reason, a note)."""
    data = e.data or {}
    said = [str(data[k]) for k in ("instructions", "reason") if data.get(k) and e.action != "dispatch"]
    if e.action == "reject":
        said = [REJECT_REASONS.get(x, x) for x in said]
    return "：".join([ACTION_TEXT.get(e.action, e.action), *said, *([e.note] if e.note else [])])


def render_html(d: SlipData) -> str:
    e = html.escape
    rows = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in d.rows())
    hist = "\n".join(f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>" for a, b, c in d.history)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(TITLE)} {e(d.number)}</title>
<style>
body{{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;}}
h1{{text-align:center;font-size:20pt;}} table{{border-collapse:collapse;width:100%;margin-bottom:1em;}}
th,td{{border:1px solid #333;padding:6px;vertical-align:top;}} th{{width:8em;background:#f3f3f3;text-align:left;}}
.sign{{margin-top:2em;display:flex;justify-content:space-between;}}
@media print{{body{{margin:0;}} .noprint{{display:none;}}}}
</style></head><body>
<h1>{e(TITLE)}</h1>
<table>{rows}
<tr><th>诉求标题</th><td>{e(d.title or "—")}</td></tr>
<tr><th>诉求内容</th><td>{e(d.content).replace(chr(10), "<br>")}</td></tr>
</table>
<h2>办理记录</h2>
<table><tr><th>时间</th><th>办理人</th><th>事项</th></tr>{hist}</table>
<div class="sign"><span>承办单位签收人：__________</span><span>签收时间：__________</span></div>
<p class="noprint"><button onclick="window.print()">打印</button></p>
</body></html>"""


def cjk_pdf() -> FPDF:
    """An A4 document with its first page, writing Chinese in the font ``cjk`` (the slips and notices)."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    font = cjk_font()
    pdf.add_font("cjk", "", str(font), collection_font_number=0)
    pdf.add_font("cjk", "B", str(font), collection_font_number=0)  # table headings ask for bold
    pdf.add_page()
    return pdf


def render_pdf(d: SlipData) -> bytes:
    pdf = cjk_pdf()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 12, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10.5)
    rows = d.rows() + [("诉求标题", d.title or "—"), ("诉求内容", d.content or "—")]
    with pdf.table(col_widths=(28, 152), text_align="LEFT", line_height=6.5, first_row_as_headings=False) as table:
        for k, v in rows:
            r = table.row()
            r.cell(k)
            r.cell(v)
    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, "办理记录", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9.5)
    with pdf.table(col_widths=(40, 40, 100), text_align="LEFT", line_height=5.5) as table:
        head = table.row()
        for h in ("时间", "办理人", "事项"):
            head.cell(h)
        for a, b, c in d.history:
            r = table.row()
            for v in (a, b, c):
                r.cell(v)
    pdf.ln(8)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, "承办单位签收人：__________        签收时间：__________", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
