"""Random action sequences through the service, on both backends: whatever is accepted or refused,
the events replay to the ticket row, the department inbox matches it, and a refusal writes nothing.

(The pure state machine gets the hypothesis treatment in test_workflow; here a seeded generator
drives the real store, where hypothesis' function-scoped-fixture rules do not fit.)
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from callcore.core.identity import Principal
from callcore.core.errors import DomainError
from callcore.tickets.models import OutboxMessage, TicketDepartment, TicketEvent
from callcore.tickets.services import NewTicket, TicketService, state_of, step_of
from callcore.tickets.workflow import ACTIONS, replay
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, HANDLER_B, LEADER, SUPERVISOR

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
PEOPLE = [AGENT, DISPATCHER, SUPERVISOR, LEADER, HANDLER_A, HANDLER_B, HANDLER_A, DISPATCHER]
DATA: dict[str, list[dict[str, Any]]] = {
    "dispatch": [{"mode": "transfer", "department_id": "dep-a"}, {"mode": "cohandle", "department_id": "dep-a",
                 "assist_ids": ["dep-b"]}, {"mode": "self"}, {"mode": "assign", "department_id": "dep-b",
                                                               "instructions": "请办理"}],
    "reply": [{"reply": "已办", "satisfaction": "satisfied"}, {"reply": "已办", "satisfaction": "unsatisfied"}],
    "reject": [{"reason": "unlawful"}], "return": [{"reason": "错派"}], "answer": [{"reply": "答复"}],
    "request_extension": [{"days": 3, "reason": "协调"}], "explain": [{"note": "说明"}], "note": [{"note": "备注"}],
    "rate": [{"rating": "satisfied"}, {"rating": "unsatisfied"}], "review": [{"reason": "复核"}],
    "pause": [{"kind": "hearing", "reason": "组织听证"}], "withdraw_sample": [{"reason": "市民拒绝回访"}],
    "reclassify": [{"category": "report", "reason": "实为举报"}, {"category": "help", "reason": "实为求助"}],
    "correct": [{"field": "address", "value": "幸福路1号", "reason": "地址记错"}],
    "instruct": [{"instructions": "请尽快办理"}],
}


async def _counts(service: TicketService, ticket_id: str) -> tuple[int, int]:
    async with service.db.session() as s:
        events = await s.scalar(select(func.count()).where(TicketEvent.ticket_id == ticket_id))
        out = await s.scalar(select(func.count()).where(OutboxMessage.ticket_id == ticket_id))
    return int(events or 0), int(out or 0)


async def test_random_histories_replay(service: TicketService) -> None:
    rng = random.Random(96881)
    # Terminal steps are drawn rarely, so histories get long before they end.
    common = [a for a in ACTIONS[1:] if a not in ("reject", "merge", "archive", "link")]
    total_accepted = total_refused = 0
    for round_ in range(10):
        t, _ = await service.create(AGENT, NewTicket(category=rng.choice(["help", "complaint"]), content=f"事项{round_}",
                                                     phone="13800000000", received_at=T0))
        accepted = refused = 0
        for i in range(40):
            who: Principal = rng.choice(PEOPLE)
            action = rng.choice(ACTIONS[1:]) if rng.random() < 0.1 else rng.choice(common)
            data = dict(rng.choice(DATA.get(action, [{}])))
            now = T0 + timedelta(hours=6 * i)
            before = await _counts(service, t.id)
            try:
                await service.act(who, t.id, action, data, note=data.get("note", ""), now=now)
                accepted += 1
            except DomainError:
                refused += 1
                assert await _counts(service, t.id) == before  # a refusal writes nothing
        view = await service.get(DISPATCHER, t.id)
        assists = tuple(sorted(d.department_id for d in view.departments if d.role == "assist"))
        assert replay([step_of(e) for e in view.events]) == state_of(view.ticket, assists)
        assert len(view.events) == accepted + 1 and view.ticket.last_seq == accepted + 1
        async with service.db.session() as s:
            inbox = list(await s.scalars(select(TicketDepartment).where(TicketDepartment.ticket_id == t.id)))
        assert all(d.status == view.ticket.status for d in inbox)
        lead = [d.department_id for d in inbox if d.role == "lead"]
        assert lead == ([view.ticket.department_id] if view.ticket.department_id else [])
        total_accepted += accepted
        total_refused += refused
    assert total_accepted > 30 and total_refused > 100
