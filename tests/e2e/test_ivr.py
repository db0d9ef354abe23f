"""T-2 / T-15 / C-1 / C-2 through a real Asterisk: the 96881 menu keyed with SIPp.

The menu is the shipped one with business hours widened to always open, so the journeys do not
depend on the hour the suite runs. Its welcome (7.4 s) takes every key of the menu while it plays;
silence after it, or 0, goes to the general queue (issue 9: within 10 s of the answer).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from callcore.ivr.engine import QUERY_CODE_LEAD, deadline_sentence, status_sentence
from callcore.prompts.synth import DIGIT_WORDS, prompt_path
from harness import heard, sipp
from harness.menus import SHIPPED, always_open
from harness.stack import Stack

VOICE = "cmn-latn-pinyin"


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


def prompts(detail: dict[str, Any]) -> list[str]:
    """The prompts the daemon started on the call, in order (``node.part``)."""
    return [d["prompt"] for d in events(detail, "prompt_started")]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00"))


def seconds_to_general_queue(detail: dict[str, Any]) -> float:
    """From ``answered`` to the menu handing the call to the general queue: its ``ivr_left how=queue
    target=general``, or, while the queue is unavailable (nobody serves it: the engine then emits no
    ``ivr_left`` there but goes on to the node's ``unavailable``), the queue node's ``ivr_node`` saying so."""
    [answered] = [e for e in detail["timeline"] if e["type"] == "answered"]
    for e in detail["timeline"]:
        d = e["data"]
        handed = e["type"] == "ivr_left" and (d.get("how"), d.get("target")) == ("queue", "general")
        tried = e["type"] == "ivr_node" and d.get("kind") == "queue" and d.get("target") == "general" and d.get("unavailable")
        if handed or tried:
            return (at(e) - at(answered)).total_seconds()
    raise AssertionError(f"the call never reached the general queue: {[e['type'] for e in detail['timeline']]}")


async def send(stack: Stack, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """``method path`` on the daemon's API as admin; the status and the JSON answer."""
    headers = {"Authorization": f"Bearer {stack.env['CALLCORE_API_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.request(method, stack.api + path, json=body) as r:
            return r.status, await r.json()


class AsteriskLog:
    """The ``Playing '<file>'`` lines Asterisk writes to ``log/messages`` from now on (one channel)."""

    def __init__(self, stack: Stack) -> None:
        self.path = stack.run_dir / "log" / "messages"
        self.start = self.path.stat().st_size

    def played(self) -> list[str]:
        with self.path.open("rb") as fh:
            fh.seek(self.start)
            text = fh.read().decode("utf-8", "replace")
        lines = re.findall(r"<(\S+)> Playing '([^']+)'", text)
        assert len({channel for channel, _ in lines}) <= 1, lines
        return [file.rsplit(".", 1)[0] for _, file in lines]

    def spoke(self, stack: Stack, text: str) -> bool:
        return str(prompt_path(text, stack.settings.sounds_dir, voice=VOICE)) in self.played()


async def test_key_1_sets_the_category_and_is_offered_a_message_when_nobody_serves(ivr_daemon: Stack, sipp_dir: Path) -> None:
    # 1 (consultation) is not announced but still answers during the welcome, as in the menu before it.
    result = await sipp.call(ivr_daemon.sip, [sipp.Pause(2500), sipp.Keys("1"), sipp.ExpectHangup(60_000)],
                             workdir=sipp_dir, caller="13922221111")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922221111", timeout=60)
    detail = await ivr_daemon.call_detail(row["id"])
    assert events(detail, "ivr_entered")[0]["menu"] == "main"
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    # Nobody serves the queue (no agent logged in): the menu offers a message (T-10). This caller sends no
    # audio at all after the beep (SIPp sends RTP only for keys): Asterisk gives up on the recording ("No audio
    # available", app.c) and hangs the channel up; an empty recording is no message left, so a caller who
    # chose voicemail and left nothing counts as lost in the menus (outcomes.py, rule 4).
    assert nodes == ["route", "hours", "welcome", "consult", "operator", "leave_message"]
    assert [d["digit"] for d in events(detail, "dtmf")] == ["1"]
    assert seconds_to_general_queue(detail) < 4
    assert detail["attributes"]["category"] == "consultation"
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["node"], left["target"]) == ("voicemail", "leave_message", "general")
    assert prompts(detail)[-2:] == ["leave_message.prompt", "voicemail_beep"], prompts(detail)
    assert not events(detail, "voicemail_left"), events(detail, "voicemail_left")
    assert (detail["outcome"], detail["loss_stage"]) == ("lost_in_ivr", "ivr")


async def test_caller_leaving_in_the_menu_is_lost_in_the_ivr(ivr_daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(ivr_daemon.sip, [sipp.Pause(5000), sipp.HangUp()], workdir=sipp_dir, caller="13922222222")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922222222", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    [left] = events(detail, "ivr_left")
    assert left["how"] == "caller_hangup" and left["lost"] is True and left["node"] == "welcome"
    assert detail["hangup_by"] == "caller" and (detail["outcome"], detail["loss_stage"]) == ("lost_in_ivr", "ivr")


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
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("3"), sipp.Pause(4000),
                              sipp.Keys("99990000#", gap_ms=200, via="info"), sipp.Pause(6000),
                              sipp.Keys("0", via="info"), sipp.ExpectHangup(60_000)]
    result = await sipp.call(ivr_daemon.sip, steps, workdir=sipp_dir, caller="13922224444", timeout_s=120)
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922224444", timeout=60)
    detail = await ivr_daemon.call_detail(row["id"])
    assert "".join(d["digit"] for d in events(detail, "dtmf")) == "399990000#0"
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    assert nodes[2:] == ["welcome", "query", "lookup", "not_found", "to_operator", "operator", "leave_message"]
    assert [d["found"] for d in events(detail, "ivr_node") if "found" in d] == [False]


async def test_blocked_number_is_refused_politely_by_the_routing_agi(ivr_daemon: Stack, sipp_dir: Path) -> None:
    from callcore.routing.blocklist import block
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
    assert (detail["outcome"], detail["loss_stage"]) == ("refused", "refused") and detail["hangup_by"] == "system"


async def test_three_invalid_keys_end_in_the_menu_fallback(ivr_daemon: Stack, sipp_dir: Path) -> None:
    # 4 cuts the welcome (info menu, 7.5 s); each 7 is meant to interrupt the info prompt, the invalid prompt
    # "您的输入有误，请重新选择。" lasting 3.6 s. A 7 that comes early is kept and answers the next prompt.
    # SIP INFO: RFC 2833 pcaps repeat one RTP timestamp, so a repeated digit may be taken for a retransmission.
    seven = sipp.Keys("7", gap_ms=4700, via="info")
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("4"), sipp.Pause(1500), seven, seven, seven,
                              sipp.ExpectHangup(40_000)]
    result = await sipp.call(ivr_daemon.sip, steps, workdir=sipp_dir, caller="13922226666", timeout_s=90)
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922226666", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    assert [d["digit"] for d in events(detail, "dtmf")] == ["4", "7", "7", "7"]
    # info: defaults.retries 2, so it is heard three times, the invalid prompt after the first two wrong keys;
    # its fallback is back, the welcome, whose silence goes to the operator queue, served by nobody here (its
    # `unavailable` leads to voicemail: the leave-message prompt and the beep; Asterisk hangs up a caller who
    # sends no audio).
    assert [p for p in prompts(detail) if p != "info.prompt"] == [
        "welcome.prompt", "info.invalid", "info.invalid", "welcome.prompt", "leave_message.prompt", "voicemail_beep"]
    menu = [d.get("interrupted_by") for d in events(detail, "prompt_finished") if d["prompt"] == "info.prompt"]
    assert menu and set(menu) == {"7"}, prompts(detail)
    retries = [(d["retry"], d["because"]) for d in events(detail, "ivr_node") if "retry" in d]
    assert retries == [(1, "invalid"), (2, "invalid")]
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    assert nodes == ["route", "hours", "welcome", "info", "welcome", "operator", "leave_message"]
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["node"], left["target"]) == ("voicemail", "leave_message", "general")
    assert "category" not in detail["attributes"]


def menu_prompt(stack: Stack, node: str) -> heard.Prompt:
    """The shipped menu's prompt of ``node`` as the daemon synthesized it (``node.prompt``, the event's name)."""
    text = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["nodes"][node]["prompt"]
    return heard.Prompt.of(text, stack.settings.sounds_dir, name=f"{node}.prompt", voice=VOICE)


async def test_caller_who_keys_nothing_reaches_the_general_queue_within_10_s(ivr_daemon: Stack, sipp_dir: Path) -> None:
    result = await sipp.call(ivr_daemon.sip, [sipp.ExpectHangup(40_000)], workdir=sipp_dir, caller="13962220001",
                             hear=True)
    assert result.ok, result.output
    # What reached the caller's ear: the whole welcome menu, then (nobody serves the queue) the whole
    # invitation to leave a message, in that order and at their level.
    assert result.heard is not None
    heard.check(result.heard, [menu_prompt(ivr_daemon, "welcome"), menu_prompt(ivr_daemon, "leave_message")])
    [row] = await ivr_daemon.wait_for_calls(1, caller="13962220001", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    assert not events(detail, "dtmf")
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    assert nodes[:4] == ["route", "hours", "welcome", "operator"]
    # The welcome heard to its end, one silence of 1 s, no menu and no retry before a person.
    assert prompts(detail)[0] == "welcome.prompt" and "main.prompt" not in prompts(detail)
    assert [d["after"] for d in events(detail, "timeout")] == [1.0]
    assert seconds_to_general_queue(detail) <= 10


async def test_caller_who_keys_0_at_once_reaches_the_general_queue_at_once(ivr_daemon: Stack, sipp_dir: Path) -> None:
    # 0 as soon as the welcome plays (a key during the routing AGI, before the call enters Stasis, never
    # reaches the daemon).
    result = await sipp.call(ivr_daemon.sip, [sipp.Pause(1000), sipp.Keys("0"), sipp.ExpectHangup(40_000)],
                             workdir=sipp_dir, caller="13962220002")
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13962220002", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    assert [d["digit"] for d in events(detail, "dtmf")] == ["0"]
    [welcome] = [d for d in events(detail, "prompt_finished") if d["prompt"] == "welcome.prompt"]
    assert welcome.get("interrupted_by") == "0"
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    assert nodes[:4] == ["route", "hours", "welcome", "operator"]
    assert seconds_to_general_queue(detail) <= 2


async def test_valid_query_code_hears_the_ticket_status(ivr_daemon: Stack, sipp_dir: Path) -> None:
    status, ticket = await send(ivr_daemon, "POST", "/tickets",
                                {"category": "complaint", "content": "小区夜间施工噪音", "phone": "13922227777"})
    assert status == 201, ticket
    code = ticket["query_code"]
    # 3 cuts the welcome, the code during "请输入您的查询码"; the status (code, status
    # and deadline, about 17.5 s) is not interruptible; the caller hangs up in the menu that follows it.
    steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("3"), sipp.Pause(4000),
                              sipp.Keys(code + "#", gap_ms=200, via="info"), sipp.Pause(21_000), sipp.HangUp()]
    result = await sipp.call(ivr_daemon.sip, steps, workdir=sipp_dir, caller="13922227777", timeout_s=90, hear=True)
    assert result.ok, result.output
    [row] = await ivr_daemon.wait_for_calls(1, caller="13922227777", timeout=30)
    detail = await ivr_daemon.call_detail(row["id"])
    assert "".join(d["digit"] for d in events(detail, "dtmf")) == f"3{code}#"
    [found] = [d for d in events(detail, "ivr_node") if "found" in d]
    assert (found["found"], found["status"]) == (True, ticket["status"])
    nodes = [d["node"] for d in events(detail, "ivr_node") if set(d) == {"node", "kind"}]
    assert nodes[2:] == ["welcome", "query", "lookup", "after_lookup"]
    assert prompts(detail) == ["welcome.prompt", "query.prompt", "lookup.status", "after_lookup.prompt"]
    [spoken] = [d for d in events(detail, "prompt_finished") if d["prompt"] == "lookup.status"]
    assert "interrupted_by" not in spoken
    # What reached the caller's ear, each file whole, in this order: "查询码", the code digit by digit,
    # "...目前状态为：<status>。", and the deadline in force said as a date (二零二六年十二月三十一日), not
    # digit by digit (issue 14).
    said = [QUERY_CODE_LEAD, *(DIGIT_WORDS[d] for d in code), status_sentence(ticket["status_text"]),
            deadline_sentence(date.fromisoformat(ticket["due_date"]))]
    assert result.heard is not None
    heard.check(result.heard, [heard.Prompt.of(text, ivr_daemon.settings.sounds_dir, voice=VOICE) for text in said])
    [left] = events(detail, "ivr_left")
    assert (left["how"], left["node"]) == ("caller_hangup", "after_lookup")


async def test_menu_change_over_the_api_refused_then_accepted_without_restart(
    ivr_daemon: Stack, sipp_dir: Path
) -> None:
    before = await ivr_daemon.get("/ivr/menus/main")
    source: str = before["source"]
    daemon_pid = ivr_daemon.daemon.pid if ivr_daemon.daemon else None

    # The welcome's fallback names a node that does not exist: refused, with the line.
    bad = source.replace("    fallback: operator\n", "    fallback: operater\n", 1)
    line = source[:source.index("    fallback: operator\n")].count("\n") + 1
    status, body = await send(ivr_daemon, "PUT", "/ivr/menus/main", {"source": bad, "comment": "e2e: typo"})
    assert status == 400, body
    assert body["error_id"] == "invalid_menu"
    assert {"line": line, "message": "node welcome, fallback: unknown target 'operater'"} in body["details"]
    assert f"第{line}行" in body["message"] and f"line {line}" in body["detail"]
    assert (await ivr_daemon.get("/ivr/menus/main"))["version"] == before["version"]

    async def short_call(caller: str) -> dict[str, Any]:
        result = await sipp.call(ivr_daemon.sip, [sipp.Pause(1500), sipp.HangUp()], workdir=sipp_dir, caller=caller)
        assert result.ok, result.output
        [row] = await ivr_daemon.wait_for_calls(1, caller=caller, timeout=30)
        return await ivr_daemon.call_detail(row["id"])

    old_welcome = "您好，九六八八幺热线，人工服务请按0，其他服务请按星号键。"
    log = AsteriskLog(ivr_daemon)
    detail = await short_call("13922228881")
    [entered] = events(detail, "ivr_entered")
    assert (entered["version"], entered["label"]) == (before["version"], before["label"])
    assert events(detail, "ivr_left")[0]["version"] == before["version"]
    assert log.spoke(ivr_daemon, old_welcome)

    # A valid change: another welcome and label. New calls get it at once, the daemon keeps running.
    new_welcome = "您好，这里是九六八八幺热线，人工服务请按0。"
    good = source.replace(old_welcome, new_welcome, 1).replace(f'version: "{before["label"]}"', 'version: "e2e.2"', 1)
    status, body = await send(ivr_daemon, "PUT", "/ivr/menus/main", {"source": good, "comment": "e2e: welcome"})
    assert status == 200, body
    assert (body["version"], body["label"]) == (before["version"] + 1, "e2e.2")

    log = AsteriskLog(ivr_daemon)
    detail = await short_call("13922228882")
    [entered] = events(detail, "ivr_entered")
    assert (entered["version"], entered["label"]) == (before["version"] + 1, "e2e.2")
    assert log.spoke(ivr_daemon, new_welcome) and not log.spoke(ivr_daemon, old_welcome)
    assert ivr_daemon.daemon is not None and ivr_daemon.daemon.returncode is None
    assert ivr_daemon.daemon.pid == daemon_pid
