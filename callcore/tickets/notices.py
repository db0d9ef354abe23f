"""Which step notifies whom, and the Chinese text they read (W-17). Written to the outbox in the
step's own transaction. Citizens hear of receipt, rejection, extension and the end; a department's
notices go to its handlers' mobiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts.models import Department
from callcore.accounts.users import handler_mobiles
from callcore.tickets.models import Ticket
from callcore.tickets.outbox import enqueue
from callcore.tickets.settings import TicketSettings
from callcore.tickets.workflow import REJECT_REASONS, Step, TicketState

SIGN = "【96881】"


def citizen_received(s: AsyncSession, t: Ticket, now: datetime) -> None:
    enqueue(s, kind="citizen_received", recipient=t.phone, ticket_id=t.id, now=now,
            body=f"{SIGN}您反映的问题已受理，工单号{t.number}，查询码{t.query_code}。"
                 "可拨打96881按提示输入查询码查询办理进度。")


async def _department(s: AsyncSession, dep_id: str | None) -> list[str]:
    """Where a department's notice goes: its active handlers' mobiles; a department without one
    falls back to its contact (a webhook or a number), then to its id, so no notice is dropped."""
    if not dep_id:
        return [""]
    mobiles = await handler_mobiles(s, dep_id)
    if mobiles:
        return mobiles
    d = await s.get(Department, dep_id)
    return [(d.contact or f"department:{d.id}") if d else f"department:{dep_id}"]


async def _to_department(s: AsyncSession, dep_id: str | None, *, kind: str, t: Ticket, now: datetime, body: str,
                         payload: dict[str, Any] | None = None) -> None:
    for recipient in await _department(s, dep_id):
        enqueue(s, kind=kind, recipient=recipient, ticket_id=t.id, now=now, payload=payload, body=body)


async def for_step(s: AsyncSession, t: Ticket, before: TicketState, after: TicketState, step: Step,
                   now: datetime, settings: TicketSettings) -> None:
    a = step.action
    due = after.due_date.isoformat() if after.due_date else ""
    if a in ("dispatch", "redo") and after.department_id:
        kind = "redo" if a == "redo" else "dispatched"
        word = "重办" if a == "redo" else "转办"
        sign_by = after.sign_by.isoformat() if after.sign_by else ""
        for dep in (after.department_id, *after.assist_ids):
            role = "主办" if dep == after.department_id else "协办"
            await _to_department(s, dep, kind=kind, t=t, now=now, payload={"department_id": dep},
                                 body=f"{SIGN}贵单位有新的{word}工单{t.number}（{role}），请于{sign_by}前签收，办理时限{due}。")
    elif a == "urge":
        n = after.urge_count
        await _to_department(s, after.department_id, kind="urge", t=t, now=now, payload={"number": n},
                             body=f"{SIGN}催办通知：工单{t.number}已超过办理时限（{due}），第{n}次催办，请尽快办理并答复。")
        if step.data.get("escalate"):
            enqueue(s, kind="escalation", recipient=settings.supervision_recipient, ticket_id=t.id, now=now,
                    payload={"number": n, "department_id": after.department_id},
                    body=f"{SIGN}督办提醒：工单{t.number}已催办{n}次仍未办结，请督办组跟进。")
    elif a == "request_extension":
        until = after.extension_until.isoformat() if after.extension_until else ""
        enqueue(s, kind="extension_requested", recipient=settings.center_recipient, ticket_id=t.id, now=now,
                body=f"{SIGN}工单{t.number}申请延期至{until}，请审批。")
    elif a in ("approve_extension", "refuse_extension"):
        text = f"延期申请已批准，新的办理时限为{due}" if a == "approve_extension" else "延期申请未获批准，请按原时限办理"
        await _to_department(s, after.department_id, kind=a, t=t, now=now, body=f"{SIGN}工单{t.number}{text}。")
        if a == "approve_extension" and t.phone:
            enqueue(s, kind="citizen_extended", recipient=t.phone, ticket_id=t.id, now=now,
                    body=f"{SIGN}您反映的问题（工单号{t.number}）需延期办理，办理时限延长至{due}，"
                         f"可凭查询码{t.query_code}查询进度。")
    elif a == "reject" and t.phone:
        reason = REJECT_REASONS.get(after.reject_reason or "", "")
        enqueue(s, kind="citizen_rejected", recipient=t.phone, ticket_id=t.id, now=now,
                body=f"{SIGN}您反映的问题（工单号{t.number}）不予受理" + (f"，原因：{reason}" if reason else "")
                     + "。如有疑问请拨打96881。")
    elif a == "return":
        enqueue(s, kind="returned", recipient=settings.center_recipient, ticket_id=t.id, now=now,
                body=f"{SIGN}工单{t.number}已被承办单位退回，请重新派发。")
    elif a in ("answer", "close") and t.phone:
        enqueue(s, kind="citizen_closed", recipient=t.phone, ticket_id=t.id, now=now,
                body=f"{SIGN}您反映的问题（工单号{t.number}）已办结，感谢您对96881的支持。")
