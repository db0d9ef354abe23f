"""Fixtures of the ticket tests: a service on each backend, three departments, one principal per
role; and the tickets API with a user of every role logged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcore.accounts.models import Department
from callcore.accounts.plugin import AccountsPlugin
from callcore.core.identity import Principal
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from callcore.tickets.services import TicketService
from callcore.tickets.settings import TicketSettings
from tests.accounts.staff import staff_api
from tests.apps import context
from tests.tickets.api import TicketsApi

AGENT = Principal(user_id="u-agent", name="接线员", role="agent")
DISPATCHER = Principal(user_id="u-disp", name="派单员", role="dispatcher")
SUPERVISOR = Principal(user_id="u-sup", name="督办员", role="supervisor")
LEADER = Principal(user_id="u-lead", name="领导", role="leader")
HANDLER_A = Principal(user_id="u-ha", name="甲单位", role="handler", department_id="dep-a")
HANDLER_B = Principal(user_id="u-hb", name="乙单位", role="handler", department_id="dep-b")
HANDLER_C = Principal(user_id="u-hc", name="丙单位", role="handler", department_id="dep-c")
# The tests date their tickets in 2026; a ten-year window for the time of receipt keeps them valid for
# years (the default, one year, is tested on its own in test_workflow_defects).
TEST_SETTINGS = TicketSettings(received_max_age_days=3660)


@pytest.fixture
async def service(db: Database) -> AsyncIterator[TicketService]:
    async with db.session() as s:
        for code in ("a", "b", "c"):
            s.add(Department(id=f"dep-{code}", code=code, name=f"单位{code}", active=True, contact=f"dep-{code}@sms"))
    yield TicketService(db, TEST_SETTINGS)


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[TicketsApi]:
    ctx = context(db, tmp_path, tickets=TEST_SETTINGS)
    async with staff_api(db, tmp_path, [AccountsPlugin, TicketsPlugin], TicketsApi, ctx=ctx) as staff:
        yield staff
