"""Categories and calendar overrides: a change reloads the service's deadlines at once."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from callcore.core.errors import NotFound
from callcore.tickets import reference
from callcore.tickets.calendar import covered
from callcore.tickets.services import NewTicket, TicketService
from tests.tickets.conftest import AGENT

T0 = datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc)


async def test_categories_are_seeded_and_changed(service: TicketService) -> None:
    codes = [c.code for c in await reference.categories(service)]
    assert codes == sorted(codes) and "complaint" in codes
    pothole = await reference.put_category(service, "pothole", name="道路坑洼", limit_days=3)
    assert (pothole.name, pothole.limit_days, pothole.active) == ("道路坑洼", 3, True)
    t, _ = await service.create(AGENT, NewTicket(category="pothole", content="坑", received_at=T0))
    assert t.due_date == date(2026, 10, 10)  # National Day week: 8, 9 and the make-up Saturday 10 Oct
    await reference.put_category(service, "pothole", name="坑洼", limit_days=1, active=False)
    assert "pothole" not in [c.code for c in await reference.categories(service, active_only=True)]
    assert await reference.category_name(service.db, "pothole") == "坑洼"
    assert await reference.category_name(service.db, "nope") == "nope"


async def test_overrides_move_deadlines(service: TicketService) -> None:
    await reference.put_category(service, "pothole", name="道路坑洼", limit_days=3)
    await reference.put_override(service, date(2026, 10, 9), workday=False, note="测试")
    t, _ = await service.create(AGENT, NewTicket(category="pothole", content="坑", received_at=T0))
    assert t.due_date == date(2026, 10, 12)
    row = await reference.put_override(service, date(2026, 10, 9), workday=True)
    assert (row.workday, row.note) == (True, "")
    assert [(o.day, o.workday) for o in await reference.overrides(service.db)] == [(date(2026, 10, 9), True)]
    await reference.delete_override(service, date(2026, 10, 9))
    assert await reference.overrides(service.db) == []
    with pytest.raises(NotFound):
        await reference.delete_override(service, date(2026, 10, 9))
    years = reference.holiday_data_years(date(2026, 6, 1))
    assert (years["2025"], years["2026"]) == (True, True) and years["2027"] is covered(2027)
    assert reference.holiday_data_years(date(2200, 6, 1)) == {"2199": False, "2200": False, "2201": False}
