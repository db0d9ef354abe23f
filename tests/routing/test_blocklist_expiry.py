"""T-15, issue 15: temporary blocks. A block with an expiry in the future refuses the caller until that
moment and not after; the screen pop's blacklist flag (``blocklist.blocked``) says the same as routing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callcore.routing.blocklist import block, blocked, list_blocked, unblock
from callcore.routing.hours import BusinessHours
from callcore.routing.models import BlockedNumber
from callcore.routing.policy import RoutingPolicy, RoutingSettings
from callcore.store.db import Database
from tests.routing.helpers import add_calls, add_ticket

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize("at,route", [
    (NOW - timedelta(days=1), "refuse"),
    (NOW - SECOND, "refuse"),
    (NOW, "normal"),          # the block ends at its expiry
    (NOW + SECOND, "normal"),
])
async def test_a_temporary_block_holds_until_its_expiry(db: Database, at: datetime, route: str) -> None:
    number = "13900000021"
    await block(db, number, reason="临时限制：恶意骚扰", by="supervisor", until=NOW)
    policy = RoutingPolicy(db, lambda: None)
    d = await policy.decide(number, at=at)
    assert d.route == route
    if route == "refuse":
        assert d.reason == "blocked: 临时限制：恶意骚扰"
    on_card = await blocked(db, number, at=at)
    assert (on_card is not None) is (route == "refuse")


async def test_a_block_without_expiry_or_reason(db: Database) -> None:
    await block(db, "13900000022", reason="", by="supervisor")
    d = await RoutingPolicy(db, lambda: None).decide("13900000022", at=NOW + timedelta(days=3650))
    assert (d.route, d.reason) == ("refuse", "blocked")
    row = await blocked(db, "13900000022", at=NOW + timedelta(days=3650))
    assert row is not None and row.until is None
    assert await blocked(db, "13900000099", at=NOW) is None


async def test_blocking_again_replaces_the_reason_and_expiry(db: Database) -> None:
    await block(db, "13900000023", reason="第一次", by="supervisor", until=NOW)
    row = await block(db, "13900000023", reason="第二次", by="admin", until=NOW + timedelta(days=7))
    assert (row.reason, row.added_by) == ("第二次", "admin")
    assert row.until is not None and row.until == NOW + timedelta(days=7)
    d = await RoutingPolicy(db, lambda: None).decide("13900000023", at=NOW + timedelta(days=1))
    assert (d.route, d.reason) == ("refuse", "blocked: 第二次")
    assert [r.number for r in await list_blocked(db)] == ["13900000023"]
    assert await unblock(db, "13900000023")
    assert (await RoutingPolicy(db, lambda: None).decide("13900000023", at=NOW)).route == "normal"


async def test_only_the_numbers_own_block_counts(db: Database) -> None:
    await block(db, "13900000024", reason="骚扰", by="supervisor", until=NOW + timedelta(hours=1))
    assert (await RoutingPolicy(db, lambda: None).decide("13900000025", at=NOW)).route == "normal"
    assert await blocked(db, "13900000025", at=NOW) is None


async def test_the_repeat_caller_limit_counts_the_last_hour_only(db: Database) -> None:
    policy = RoutingPolicy(db, lambda: None, settings=RoutingSettings(max_calls_per_hour=2))
    await add_calls(db, "13900000026", 2, ago=timedelta(minutes=10))
    await add_calls(db, "13900000026", 4, ago=timedelta(minutes=61))
    assert (await policy.decide("13900000026")).route == "normal"  # exactly the limit
    await add_calls(db, "13900000026", 1, ago=timedelta(minutes=59))
    d = await policy.decide("13900000026")
    assert (d.route, d.reason) == ("refuse", "3 calls in the last hour")
    # An empty caller ID (anonymous) is never looked up, nor refused.
    assert (await policy.decide("")).route == "normal"


async def test_who_blocked_is_kept_and_the_list_is_newest_first(db: Database) -> None:
    first = await block(db, "13900000027", reason="骚扰", by="supervisor")
    assert first.added_by == "supervisor"
    async with db.session() as s:
        row = await s.get(BlockedNumber, "13900000027")
        assert row is not None
        row.added_at = NOW - timedelta(hours=1)
    await block(db, "13900000028", reason="辱骂", by="admin")
    assert [r.number for r in await list_blocked(db)] == ["13900000028", "13900000027"]


async def test_the_reasons_say_why(db: Database) -> None:
    await add_ticket(db, phone="13900000029")
    closed = BusinessHours(timezone="Asia/Shanghai", weekly={}, holidays="none")
    d = await RoutingPolicy(db, lambda: closed).decide("13900000029")
    assert (d.route, d.priority, d.reason) == ("afterhours", 5, "open ticket, after hours")
    d = await RoutingPolicy(db, lambda: closed).decide("13900000030")
    assert (d.route, d.priority, d.reason) == ("afterhours", 0, "after hours")
    d = await RoutingPolicy(db, lambda: None).decide("13900000030")
    assert (d.route, d.priority, d.reason) == ("normal", 0, "")


async def test_without_a_store_every_caller_is_let_in() -> None:
    d = await RoutingPolicy(None, lambda: None).decide("13900000031")
    assert (d.route, d.priority, d.reason) == ("normal", 0, "")
    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        d = await RoutingPolicy(broken, lambda: None).decide("13900000031")
    finally:
        await broken.close()
    assert (d.route, d.reason) == ("normal", "store unavailable")
