"""Which step notifies whom, and the Chinese text they read (W-17). Written to the outbox in the
step's own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts.models import Department
from callcore.tickets.models import Ticket
from callcore.tickets.outbox import enqueue
from callcore.tickets.settings import TicketSettings
from callcore.tickets.workflow import Step, TicketState

SIGN = "【96881】"


def citizen_received(s: AsyncSession, t: Ticket, now: datetime) -> None:
    enqueue(s, kind="citizen_received", recipient=t.phone, ticket_id=t.id, now=now,
            body=f"{SIGN}您反映的问题已受理，工单号{t.number}，查询码{t.query_code}。"
                 "可拨打96881按提示输入查询码查询办理进度。")


async def _department(s: AsyncSession, dep_id: str | None) -> str:
    if not dep_id:
        return ""
    d = await s.get(Department, dep_id)
    return (d.contact or f"department:{d.id}") if d else f"department:{dep_id}"


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
            enqueue(s, kind=kind, recipient=await _department(s, dep), ticket_id=t.id, now=now,
                    payload={"department_id": dep},
                    body=f"{SIGN}贵单位有新的{word}工单{t.number}（{role}），请于{sign_by}前签收，办理时限{due}。")
    elif a == "urge":
        n = after.urge_count
        enqueue(s, kind="urge", recipient=await _department(s, after.department_id), ticket_id=t.id, now=now,
                payload={"number": n},
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
        enqueue(s, kind=a, recipient=await _department(s, after.department_id), ticket_id=t.id, now=now,
                body=f"{SIGN}工单{t.number}{text}。")
    elif a == "return":
        enqueue(s, kind="returned", recipient=settings.center_recipient, ticket_id=t.id, now=now,
                body=f"{SIGN}工单{t.number}已被承办单位退回，请重新派发。")
    elif a in ("answer", "close") and t.phone:
        enqueue(s, kind="citizen_closed", recipient=t.phone, ticket_id=t.id, now=now,
                body=f"{SIGN}您反映的问题（工单号{t.number}）已办结，感谢您对96881的支持。")
