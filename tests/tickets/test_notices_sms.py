"""W-17's SMS (issue 14): the citizen hears of a rejection and of an approved extension; a
department's notices go to its handlers' mobiles, not to its contact field."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from callcore.accounts.models import User
from callcore.store.db import Database
from callcore.tickets.models import OutboxMessage
from callcore.tickets.services import NewTicket, TicketService
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, SUPERVISOR

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


async def _outbox(db: Database, ticket_id: str) -> list[tuple[str, str, str]]:
    async with db.session() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
                               .order_by(OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.recipient))
        return [(m.kind, m.recipient, m.body) for m in rows]


async def _handlers(db: Database) -> None:
    async with db.session() as s:
        s.add_all([
            User(id="h1", username="h1", role="handler", department_id="dep-a", password_hash="x", mobile="13900000001"),
            User(id="h2", username="h2", role="handler", department_id="dep-a", password_hash="x", mobile="13900000002"),
            User(id="h3", username="h3", role="handler", department_id="dep-a", password_hash="x", mobile="13900000003",
                 active=False),
            User(id="h4", username="h4", role="handler", department_id="dep-a", password_hash="x", mobile=""),
            User(id="d1", username="d1", role="dispatcher", password_hash="x", mobile="13900000009"),
        ])


async def test_the_citizen_is_told_of_a_rejection(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="complaint", content="邻居纠纷", phone="13812345678"))
    await service.act(DISPATCHER, t.id, "reject", {"reason": "in_litigation"})
    kinds = {(k, r): b for k, r, b in await _outbox(service.db, t.id)}
    body = kinds[("citizen_rejected", "13812345678")]
    assert t.number in body and "不予受理" in body and "已进入诉讼、行政复议或仲裁程序" in body


async def test_no_rejection_sms_without_a_phone(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="complaint", content="邻居纠纷"))
    await service.act(DISPATCHER, t.id, "reject", {"reason": "in_litigation"})
    assert [k for k, _, _ in await _outbox(service.db, t.id)] == []


async def test_the_citizen_is_told_of_an_approved_extension_only(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="complaint", content="垃圾堆放", phone="13812345678",
                                                 received_at=T0))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    await service.act(HANDLER_A, t.id, "sign", now=T0)
    await service.act(HANDLER_A, t.id, "request_extension", {"days": 5, "reason": "需协调"}, now=T0)
    assert "citizen_extended" not in [k for k, _, _ in await _outbox(service.db, t.id)]
    t2 = await service.act(SUPERVISOR, t.id, "approve_extension", now=T0)
    [(recipient, body)] = [(r, b) for k, r, b in await _outbox(service.db, t.id) if k == "citizen_extended"]
    assert recipient == "13812345678" and t2.due_date.isoformat() in body and t.query_code in body


async def test_department_notices_go_to_its_handlers_mobiles(service: TicketService) -> None:
    await _handlers(service.db)
    t, _ = await service.create(AGENT, NewTicket(category="complaint", content="噪音", phone="13812345678"))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "cohandle", "department_id": "dep-a",
                                                     "assist_ids": ["dep-b"]})
    sent = [(k, r) for k, r, _ in await _outbox(service.db, t.id) if k == "dispatched"]
    # dep-a's two active handlers with a mobile; dep-b has none, so its contact (the fixture's dep-b@sms).
    assert sorted(sent) == [("dispatched", "13900000001"), ("dispatched", "13900000002"), ("dispatched", "dep-b@sms")]
