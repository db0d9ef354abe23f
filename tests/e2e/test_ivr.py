"""T-2 / T-15 / C-1 / C-2 through a real Asterisk: the 96881 menu keyed with SIPp.

The menu is the shipped one with business hours widened to always open, so the journeys do not
depend on the hour the suite runs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import sipp
from tests.e2e.stack import Stack

SHIPPED = Path(__file__).resolve().parents[2] / "ivr" / "main.yaml"


def always_open(text: str) -> str:
    text = re.sub(r"holidays: cn[^\n]*", "holidays: none", text)
    return re.sub(r'mon-fri: \["08:30-12:00", "13:30-17:30"\]', 'mon-sun: ["00:00-24:00"]', text)


@pytest.fixture
async def ivr_daemon(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    ivr_dir = tmp_path / "ivr"
    ivr_dir.mkdir()
    (ivr_dir / "main.yaml").write_text(always_open(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    await stack.stop_daemon()
    await stack.start_daemon(CALLCORE_IVR_DIR=str(ivr_dir), CALLCORE_FLOW="ivr")
    yield stack
    await stack.stop_daemon()


def events(detail: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in detail["timeline"] if e["type"] == type_]


async def test_key_1_sets_the_category_and_reaches_the_not_available_path(ivr_daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(ivr_daemon.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.ExpectHangup(60_000)],
                             workdir=sipp_dir, caller="13922221111")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922221111", timeout=60)
    detail = await ivr_daemon.call_detail(row["id"])
    assert events(detail, "ivr_entered")[0]["menu"] == "main"
    assert [d["node"] for d in events(detail, "ivr_node")][:4] == ["route", "welcome", "hours", "main"]
    assert "1" in [d["digit"] for d in events(detail, "dtmf")]
    assert detail["attributes"]["category"] == "consultation"
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["node"]) == ("hangup", "not_available")
    assert detail["hangup_by"] == "system" and detail["loss_stage"] is None


async def test_caller_leaving_in_the_menu_is_lost_in_the_ivr(ivr_daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(ivr_daemon.sip, [sipp.Pause(7000), sipp.HangUp()], workdir=sipp_dir, caller="13922222222")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922222222", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    [left] = events(detail, "ivr_left")
    assert left["how"] == "caller_hangup" and left["lost"] is True and left["node"] in ("welcome", "main")
    assert detail["hangup_by"] == "caller" and detail["loss_stage"] == "ivr"


async def test_key_9_tells_the_caller_the_emergency_numbers(ivr_daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(ivr_daemon.sip, [sipp.Pause(2500), sipp.Keys("9"), sipp.ExpectHangup(60_000)],
                             workdir=sipp_dir, caller="13922223333")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922223333", timeout=60)
    detail = await ivr_daemon.call_detail(row["id"])
    assert detail["attributes"]["category"] == "emergency"
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["reason"], left["node"]) == ("hangup", "emergency_referral", "emergency_referral")


async def test_unknown_query_code_offers_retry_or_an_operator(ivr_daemon: Stack, sipp_dir: Path) -> None:
    steps = [sipp.Pause(2500), sipp.Keys("3"), sipp.Pause(4000), sipp.Keys("99990000#", gap_ms=200, via="info"), sipp.Pause(6000),
             sipp.Keys("0", via="info"), sipp.ExpectHangup(60_000)]
    result = await sipp.call(ivr_daemon.sip, steps, workdir=sipp_dir, caller="13922224444", timeout_s=120)
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922224444", timeout=60)
    detail = await ivr_daemon.call_detail(row["id"])
    assert "".join(d["digit"] for d in events(detail, "dtmf")) == "399990000#0"
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    assert nodes[3:] == ["main", "query", "lookup", "not_found", "operator", "not_available"]
    assert [d["found"] for d in events(detail, "ivr_node") if "found" in d] == [False]


async def test_blocked_number_is_refused_politely_by_the_routing_agi(ivr_daemon: Stack, sipp_dir: Path) -> None:
    from callcore.routing.policy import block
    from callcore.store.db import Database

    db = Database(ivr_daemon.settings.database_url)
    try:
        await block(db, "13922225555", reason="e2e", by="test")
    finally:
        await db.close()
    result = await sipp.call(ivr_daemon.sip, [sipp.ExpectHangup(30_000)], workdir=sipp_dir, caller="13922225555")
    assert result.ok, result.output
    # The log masks numbers.
    assert "route 139****5555: refuse priority 0 (blocked: e2e)" in ivr_daemon.daemon_log()
    # The daemon plays the refusal and counts the call as refused at the door (C-2).
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922225555", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    assert detail["attributes"]["route"] == "refuse"
    assert "refused" in [e["type"] for e in detail["timeline"]]
    assert detail["loss_stage"] == "refused" and detail["hangup_by"] == "system"
