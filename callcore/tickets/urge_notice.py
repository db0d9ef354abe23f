"""The urge notice (催办通知书, W-10): one printable page per urge, HTML and PDF, in Chinese, addressed
to the department that had the ticket when it was urged. Times are the hotline's (Asia/Shanghai).

It is drawn like the transfer slip (``slip.py``: fpdf2 with an embedded CJK font).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from callcore.accounts import departments
from callcore.core.errors import NotFound
from callcore.core.identity import Principal
from callcore.tickets.reference import category_name
from callcore.tickets.services import TicketService
from callcore.tickets.slip import cjk_pdf, local_time

TITLE = "96881市民服务热线 催办通知书"
ISSUER = "96881市民服务热线中心"


@dataclass(frozen=True, kw_only=True)
class UrgeNotice:
    number: str
    urge_number: int
    urged_at: str
    department: str
    received_at: str
    category: str
    title: str
    content: str
    due_date: str
    automatic: bool
    escalated: bool
    urged_by: str

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("工单编号", self.number), ("催办次数", f"第{self.urge_number}次"), ("催办时间", self.urged_at),
            ("承办单位", self.department or "—"), ("受理时间", self.received_at), ("问题类别", self.category),
            ("诉求标题", self.title or "—"), ("诉求内容", self.content), ("办理时限", self.due_date),
            ("催办方式", "系统自动催办" if self.automatic else f"人工催办（{self.urged_by}）"),
            ("督办", "已升级督办" if self.escalated else "—"),
        ]

    def text(self) -> str:
        return (f"{self.department or '承办单位'}：\n    编号为{self.number}的工单已超过办理时限（{self.due_date}），"
                f"现第{self.urge_number}次催办。请接到本通知后抓紧办理，并及时答复市民、反馈办理结果；"
                f"确因客观原因不能按期办结的，请说明情况。")


async def urge_notice(service: TicketService, who: Principal, ref: str, number: int | None = None) -> UrgeNotice:
    """The notice of the ticket's ``number``-th urge (the latest without it), for a reader who may see the ticket."""
    view = await service.get(who, ref)
    urges = [e for e in view.events if e.action == "urge"]
    chosen = urges[-1] if urges and number is None else next(
        (e for e in urges if int((e.data or {}).get("number") or 0) == number), None)
    if chosen is None:
        raise NotFound("该工单没有这次催办记录" if urges else "该工单没有催办记录", error_id="urge_not_found")
    t, d = view.ticket, chosen.data or {}
    names = await departments.names(service.db)
    return UrgeNotice(
        number=t.number, urge_number=int(d.get("number") or urges.index(chosen) + 1),
        urged_at=local_time(chosen.at), department=names.get(chosen.department_id or "", ""),
        received_at=local_time(t.received_at), category=await category_name(service.db, t.category), title=t.title,
        content=t.content, due_date=str(d.get("due") or t.due_date.isoformat()), automatic=bool(d.get("automatic")),
        escalated=bool(d.get("escalate")), urged_by=chosen.actor_name or chosen.actor_id)


def render_html(n: UrgeNotice) -> str:
    e = html.escape
    rows = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in n.rows())
    body = e(n.text()).replace("\n", "<br>")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(TITLE)} {e(n.number)}</title>
<style>
body{{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;}}
h1{{text-align:center;font-size:20pt;}} table{{border-collapse:collapse;width:100%;margin:1em 0;}}
th,td{{border:1px solid #333;padding:6px;vertical-align:top;}} th{{width:8em;background:#f3f3f3;text-align:left;}}
.issuer{{text-align:right;margin-top:2em;}}
@media print{{body{{margin:0;}} .noprint{{display:none;}}}}
</style></head><body>
<h1>{e(TITLE)}</h1>
<p>{body}</p>
<table>{rows}</table>
<p class="issuer">{e(ISSUER)}<br>{e(n.urged_at[:10])}</p>
<p class="noprint"><button onclick="window.print()">打印</button></p>
</body></html>"""


def render_pdf(n: UrgeNotice) -> bytes:
    pdf = cjk_pdf()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 12, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.multi_cell(0, 7, n.text(), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=10.5)
    with pdf.table(col_widths=(28, 152), text_align="LEFT", line_height=6.5, first_row_as_headings=False) as table:
        for k, v in n.rows():
            r = table.row()
            r.cell(k)
            r.cell(v)
    pdf.ln(8)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, ISSUER, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, n.urged_at[:10], align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
