from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from callcore.routing.hours import BusinessHours, DayHours
from callcore.routing.blocklist import block, unblock
from callcore.routing.policy import RoutingPolicy, RoutingSettings
from callcore.store.db import Database

from tests.routing.helpers import add_calls, add_ticket

SH = ZoneInfo("Asia/Shanghai")
OPEN_HOURS = BusinessHours(timezone="Asia/Shanghai", weekly={d: DayHours(intervals=((0, 1440),)) for d in range(7)},
                           holidays="none")
CLOSED = BusinessHours(timezone="Asia/Shanghai", weekly={}, holidays="none")


async def test_normal_caller(db: Database) -> None:
    d = await RoutingPolicy(db, lambda: OPEN_HOURS).decide("13900000000")
    assert (d.route, d.priority) == ("normal", 0)


async def test_blocked_number_is_refused_until_expiry(db: Database) -> None:
    policy = RoutingPolicy(db, lambda: OPEN_HOURS)
    await block(db, "13900000001", reason="辱骂话务员", by="admin")
    d = await policy.decide("13900000001")
    assert d.route == "refuse" and "辱骂话务员" in d.reason
    await block(db, "13900000001", reason="temp", by="admin", until=datetime.now(timezone.utc) - timedelta(minutes=1))
    assert (await policy.decide("13900000001")).route == "normal"
    assert await unblock(db, "13900000001") and not await unblock(db, "13900000001")


async def test_abusive_repeat_calls_are_refused(db: Database) -> None:
    policy = RoutingPolicy(db, lambda: None, settings=RoutingSettings(max_calls_per_hour=3))
    await add_calls(db, "13900000002", 3)
    await add_calls(db, "13900000002", 5, ago=timedelta(hours=2))
    assert (await policy.decide("13900000002")).route == "normal"
    await add_calls(db, "13900000002", 1)
    d = await policy.decide("13900000002")
    assert d.route == "refuse" and "4 calls" in d.reason


async def test_open_ticket_gives_priority_and_after_hours(db: Database) -> None:
    await add_ticket(db, phone="13900000003")
    await add_ticket(db, phone="13900000004", status="closed", query_code="87654321")
    d = await RoutingPolicy(db, lambda: OPEN_HOURS).decide("13900000003")
    assert (d.route, d.priority, d.reason) == ("normal", 5, "open ticket")
    assert (await RoutingPolicy(db, lambda: OPEN_HOURS).decide("13900000004")).priority == 0
    d = await RoutingPolicy(db, lambda: CLOSED).decide("13900000003")
    assert (d.route, d.priority) == ("afterhours", 5)


async def test_store_down_lets_the_call_in() -> None:
    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        d = await RoutingPolicy(broken, lambda: None).decide("13900000005")
    finally:
        await broken.close()
    assert d.route == "normal" and "store unavailable" in d.reason
