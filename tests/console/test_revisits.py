"""Browser journey through the satisfaction callback (回访, W-12; issue 11): a dispatcher samples a closed ticket
from its detail, finds it in 回访 with the citizen's number masked, records the citizen's rating and withdraws
a second sample with a reason; an agent with a number calls a citizen back from the list, the call linked to
the ticket, and is not offered the withdrawal. Each step is checked in the page and in what the API stored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from harness.browser import api
from harness.stack import Stack
from tests.console.conftest import Pages
from tests.console.helpers import (agent, citizen_number, department, field, log_in, start_daemon, stop_daemon,
                                   token, user)

STEPS = ("pause", "resume", "reclassify", "correct", "instruct", "sample", "rate", "withdraw_sample")
AGENT = "5006"


@pytest.fixture
async def daemon(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    """The daemon started after the journey's agent exists (its agent feed knows the agent), its sampler
    choosing no ticket: the journey's tickets are sampled by hand only."""
    if AGENT not in stack.agent_passwords:
        await stack.add_agent(AGENT, f"坐席{AGENT}")
    stack.env["CALLCORE_TICKETS_VISIT_SAMPLE_RATE"] = "0"
    try:
        await start_daemon(stack, tmp_path, [])
        yield stack
    finally:
        await stop_daemon(stack)
        stack.env.pop("CALLCORE_TICKETS_VISIT_SAMPLE_RATE", None)


async def act(stack: Stack, ticket_id: str, body: dict[str, Any], as_token: str | None = None) -> None:
    await api(stack, "POST", f"/tickets/{ticket_id}/actions", body, token=as_token)


async def ticket(stack: Stack, content: str, phone: str) -> dict[str, Any]:
    return dict(await api(stack, "POST", "/tickets", {"category": "help", "content": content, "phone": phone}))


async def offers_only(drawer: Locator, *steps: str) -> None:
    for step in STEPS:
        await expect(drawer.locator(f"[data-test=step-{step}]")).to_have_count(1 if step in steps else 0)


def row_of(page: Page, number: str) -> Locator:
    return page.locator("[data-test=revisits-table] .el-table__row", has_text=number)


async def test_a_dispatcher_samples_rates_and_withdraws_and_an_agent_calls_back_from_the_list(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    dept = await department(stack, "园林绿化局")
    handler = await token(stack, await user(stack, "handler", name="园林周", department_id=dept))
    dispatcher = await user(stack, "dispatcher", name="派单员冯")
    caller = await user(stack, "agent", name="回访员褚")
    await agent(stack, AGENT, caller)

    # Handled by the department and closed by the centre; the others answered at once (即办) and sampled.
    phone = citizen_number()
    first = await ticket(stack, "小区门口行道树枯死，存在倒伏隐患。", phone)
    await act(stack, first["id"], {"action": "dispatch", "mode": "transfer", "department_id": dept})
    await act(stack, first["id"], {"action": "sign"}, handler)
    await act(stack, first["id"], {"action": "reply", "reply": "已安排移除枯树并补种。"}, handler)
    await act(stack, first["id"], {"action": "close"})
    second = await ticket(stack, "咨询公园开放时间。", citizen_number())
    third_phone = citizen_number()
    third = await ticket(stack, "咨询垃圾分类投放时间。", third_phone)
    for t in (second, third):
        await act(stack, t["id"], {"action": "answer", "reply": "已当场答复。"})
        await act(stack, t["id"], {"action": "sample"})

    page = await pages.open("dispatcher")
    await log_in(page, stack, dispatcher, "intake")
    await page.locator(".el-menu").get_by_text("工单查询", exact=True).click()
    await page.locator(".el-form-item", has_text="工单号").locator("input").fill(first["number"])
    await page.get_by_role("button", name="查询").click()
    await page.locator("[data-test=ticket-table] .el-table__row", has_text=first["number"]).get_by_text(
        first["number"], exact=True).click()
    drawer = page.locator(".el-drawer", has=page.locator("[data-test=ticket-detail]"))
    await expect(drawer.locator(".el-drawer__title")).to_have_text(f"工单 {first['number']}")
    await offers_only(drawer, "correct", "sample")

    # 抽样回访 from the ticket's detail.
    await drawer.locator("[data-test=step-sample]").click()
    # The list's own step dialog, or its drawer's: the one open.
    dialog = page.locator("[data-test=step-dialog]:visible")
    await expect(dialog).to_contain_text(f"抽样回访 · 工单 {first['number']}")
    await field(dialog, "step-note").fill("本周抽样")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(page.get_by_text(f"工单 {first['number']}：已列入回访")).to_be_visible()
    await expect(dialog).to_be_hidden()
    await offers_only(drawer, "correct", "rate", "withdraw_sample")
    await expect(drawer.locator("[data-test=history-item][data-action=sample]")).to_contain_text("本周抽样")
    sampled = await api(stack, "GET", f"/tickets/{first['id']}")
    assert (sampled["visit"], sampled["history"][-1]["action"], sampled["history"][-1]["note"]) == (
        "sampled", "sample", "本周抽样")
    await drawer.locator(".el-drawer__close-btn").click()

    # 回访 lists it, the number masked as the API gives it; a dispatcher has no call button.
    await page.locator(".el-menu").get_by_text("回访", exact=True).click()
    await page.wait_for_url(re.compile(r"/console/revisits$"))
    row = row_of(page, first["number"])
    await expect(row).to_contain_text("园林绿化局")
    await expect(row.locator("[data-test=revisit-phone]")).to_have_text(sampled["phone"])
    assert phone not in await row.inner_text()
    await expect(row_of(page, second["number"])).to_contain_text("热线中心")
    await expect(row.locator("[data-test=call]")).to_have_count(0)
    await page.screenshot(path=str(artifacts / "revisits.png"))

    # 记录评价: a rating is required; 满意 is stored and the ticket leaves the list.
    await row.locator("[data-test=revisit-rate]").click()
    await expect(dialog).to_contain_text(f"回访评价 · 工单 {first['number']}")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请选择市民的满意度")
    await dialog.locator("[data-test=step-rating]").get_by_text("满意", exact=True).click()
    await field(dialog, "step-note").fill("市民表示枯树已移除，很满意")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(page.get_by_text(f"工单 {first['number']}：回访评价“满意”已记录")).to_be_visible()
    await expect(row).to_have_count(0)
    rated = await api(stack, "GET", f"/tickets/{first['id']}")
    event = rated["history"][-1]
    assert (rated["satisfaction"], rated["visit"]) == ("satisfied", "done")
    assert (event["action"], event["data"]["rating"], event["note"]) == ("rate", "satisfied", "市民表示枯树已移除，很满意")
    awaiting = await api(stack, "GET", "/tickets?awaiting_callback=true&limit=500")
    assert first["id"] not in [t["id"] for t in awaiting["items"]]

    # The second, from its detail opened in the list, then 撤销抽样 with a reason.
    row = row_of(page, second["number"])
    await row.get_by_text(second["number"], exact=True).click()
    await expect(drawer.locator(".el-drawer__title")).to_have_text(f"工单 {second['number']}")
    await offers_only(drawer, "correct", "rate", "withdraw_sample")
    await drawer.locator(".el-drawer__close-btn").click()
    await row.locator("[data-test=revisit-withdraw]").click()
    await expect(dialog).to_contain_text(f"撤销回访抽样 · 工单 {second['number']}")
    await field(dialog, "step-reason").fill("  ")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请填写原因")
    assert (await api(stack, "GET", f"/tickets/{second['id']}"))["visit"] == "sampled"
    await field(dialog, "step-reason").fill("市民表示不需要回访")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(page.get_by_text(f"工单 {second['number']}：已撤销回访抽样")).to_be_visible()
    await expect(row).to_have_count(0)
    withdrawn = await api(stack, "GET", f"/tickets/{second['id']}")
    event = withdrawn["history"][-1]
    assert (withdrawn["visit"], withdrawn["satisfaction"]) == ("withdrawn", None)
    assert (event["action"], event["data"]["reason"]) == ("withdraw_sample", "市民表示不需要回访")

    # An agent with a number calls the citizen back from the list: the whole number is dialled for the
    # ticket (the agent is not ready, so the API refuses before anything rings). A rating, no withdrawal.
    desk = await pages.open("agent")
    await log_in(desk, stack, caller, "agent")
    await desk.locator(".el-menu").get_by_text("回访", exact=True).click()
    theirs = row_of(desk, third["number"])
    await expect(theirs.locator("[data-test=revisit-rate]")).to_be_visible()
    await expect(theirs.locator("[data-test=revisit-withdraw]")).to_have_count(0)
    await expect(row_of(desk, second["number"])).to_have_count(0)
    originate = f"/agents/{AGENT}/originate"
    async with desk.expect_request(lambda r: r.method == "POST" and r.url.endswith(originate)) as sent:
        await theirs.locator("[data-test=call]").click()
    assert (await sent.value).post_data_json == {"number": third_phone, "ticket_id": third["id"]}
    await expect(desk.locator(".el-message.call-error")).to_contain_text(f"坐席 {AGENT} 当前不能外呼")
    await desk.screenshot(path=str(artifacts / "revisits-agent.png"))
