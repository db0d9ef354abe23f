"""S-1 figures from the database aggregates, on both backends."""

from __future__ import annotations

from datetime import date, datetime, timezone

from callcore.tickets.scheduler import UrgeScheduler
from callcore.tickets.services import NewTicket, TicketService
from callcore.tickets.stats import department_stats
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, HANDLER_B, SUPERVISOR

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


async def test_department_stats(service: TicketService) -> None:
    ids = []
    for i in range(4):
        t, _ = await service.create(AGENT, NewTicket(category="help", content=f"事项{i}", received_at=T0))
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
        ids.append(t.id)
    a, b, c, d = ids
    await service.act(HANDLER_A, a, "sign", now=T0)
    await service.act(HANDLER_A, a, "reply", {"reply": "好", "satisfaction": "satisfied"}, now=T0)
    await service.act(DISPATCHER, a, "close", now=T0)
    await service.act(HANDLER_A, b, "sign", now=T0)
    await service.act(HANDLER_A, b, "request_extension", {"days": 2, "reason": "r"}, now=T0)
    await service.act(SUPERVISOR, b, "approve_extension", now=T0)
    late = datetime(2026, 3, 20, 2, 0, tzinfo=timezone.utc)
    await service.act(HANDLER_A, b, "reply", {"reply": "迟", "satisfaction": "unsatisfied"}, now=late)
    await service.act(DISPATCHER, b, "close", now=late)
    await service.act(HANDLER_A, c, "return", {"reason": "错派"}, now=T0)
    await service.act(DISPATCHER, c, "dispatch", {"mode": "transfer", "department_id": "dep-b"}, now=T0)
    await service.act(HANDLER_B, c, "sign", now=T0)
    await service.act(HANDLER_A, d, "sign", now=T0)
    assert await UrgeScheduler(service).run_once(datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc)) == 2
    rows = {r.department_id: r for r in await department_stats(
        service.db, datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc),
        date(2026, 3, 20))}
    ra, rb = rows["dep-a"], rows["dep-b"]
    assert (ra.received, ra.signed, ra.returned, ra.closed, ra.closed_on_time) == (4, 3, 1, 2, 1)
    assert (ra.on_time_rate, ra.extended, ra.urged, ra.redone) == (0.5, 1, 1, 0)
    assert (ra.rated, ra.satisfied, ra.satisfaction_rate, ra.open_overdue) == (2, 1, 0.5, 1)
    assert (rb.received, rb.signed, rb.urged, rb.open_overdue) == (1, 1, 1, 1)
    assert rows["dep-c"].received == 0 and rows["dep-c"].on_time_rate is None
