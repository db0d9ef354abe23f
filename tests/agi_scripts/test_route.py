from __future__ import annotations

from agi_scripts import handlers
from callcore.agi.server import FastAgiServer
from callcore.routing.blocklist import block
from callcore.routing.policy import RoutingPolicy
from callcore.store.db import Database

from tests.agi.fake_asterisk import FakeAsterisk
from tests.routing.helpers import add_ticket


async def test_route_sets_channel_variables(db: Database) -> None:
    await block(db, "13700000000", reason="abuse", by="admin")
    await add_ticket(db, phone="13800138000")
    async with FastAgiServer(handlers(RoutingPolicy(db, lambda: None)), port=0) as server:
        regular = FakeAsterisk(server.port)
        await regular.run()
        refused = FakeAsterisk(server.port)
        await refused.run({"agi_callerid": "13700000000"})
        anonymous = FakeAsterisk(server.port)
        await anonymous.run({"agi_callerid": "unknown"})
    assert regular.variables == {"CALLCORE_ROUTE": "normal", "CALLCORE_PRIORITY": "5", "CALLCORE_ROUTE_REASON": "open ticket"}
    assert refused.variables["CALLCORE_ROUTE"] == "refuse"
    assert anonymous.variables["CALLCORE_ROUTE"] == "normal"
