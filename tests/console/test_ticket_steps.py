"""Browser journeys through the ticket steps of the detail drawer (issue 11 on issue 14's workflow): the
department pauses and resumes the clock, the dispatcher corrects the category and the address, the leader
writes instructions; each as the role the API allows, the buttons absent for the others, and every step
checked in the page, in the ticket's history and in what the API stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, expect

from harness.browser import api, console_url
from harness.stack import Stack
from tests.console.conftest import Pages
from tests.console.helpers import citizen_number, department, field, log_in, pick, token, user

STEPS = ("pause", "resume", "reclassify", "correct", "instruct")


async def new_ticket(stack: Stack, *, category: str = "consultation", address: str = "", content: str,
                     as_token: str | None = None) -> dict[str, Any]:
    return dict(await api(stack, "POST", "/tickets", {"category": category, "content": content, "address": address,
                                                      "phone": citizen_number()}, token=as_token))


async def open_ticket(page: Page, table: str, number: str) -> Locator:
    """Opens the ticket's drawer from its row in the page's table; the drawer."""
    row = page.locator(f"[data-test={table}] .el-table__row", has_text=number)
    await row.get_by_text(number, exact=True).click()
    drawer = page.locator(".el-drawer", has=page.locator("[data-test=ticket-detail]"))
    await expect(drawer.locator(".el-drawer__title")).to_have_text(f"工单 {number}")
    return drawer


async def offers_only(drawer: Locator, *steps: str) -> None:
    """The drawer shows the buttons of ``steps`` and of no other step."""
    for step in STEPS:
        await expect(drawer.locator(f"[data-test=step-{step}]")).to_have_count(1 if step in steps else 0)


def history_item(drawer: Locator, action: str) -> Locator:
    return drawer.locator(f"[data-test=history-item][data-action={action}]")


async def last_event(stack: Stack, ticket_id: str) -> dict[str, Any]:
    return dict((await api(stack, "GET", f"/tickets/{ticket_id}"))["history"][-1])


async def test_the_lead_department_pauses_the_clock_for_a_site_survey_and_resumes_it(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    dept = await department(stack, "供水公司")
    handler = await user(stack, "handler", name="供水孙", department_id=dept)
    created = await new_ticket(stack, content="小区停水三天，管网疑似破裂。", address="城关区雁滩路8号")
    await api(stack, "POST", f"/tickets/{created['id']}/actions",
              {"action": "dispatch", "mode": "transfer", "department_id": dept})
    await api(stack, "POST", f"/tickets/{created['id']}/actions", {"action": "sign"},
              token=await token(stack, handler))
    due = (await api(stack, "GET", f"/tickets/{created['id']}"))["due_date"]

    page = await pages.open("handler")
    await log_in(page, stack, handler, "inbox")
    await page.locator(".toolbar").get_by_text("办理中", exact=True).click()
    drawer = await open_ticket(page, "inbox-table", created["number"])
    await offers_only(drawer, "pause")  # no correction nor instructions for a department

    # The form asks for the reason first; nothing reaches the API.
    await drawer.locator("[data-test=step-pause]").click()
    dialog = page.locator("[data-test=step-dialog]")
    await expect(dialog).to_be_visible()
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请选择暂停原因")
    await expect(dialog).to_contain_text("请填写原因")
    assert (await api(stack, "GET", f"/tickets/{created['id']}"))["status"] == "processing"

    await dialog.locator("[data-test=step-kind]").get_by_text("踏勘", exact=True).click()
    await field(dialog, "step-reason").fill("需现场踏勘管网走向后确定维修方案")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(page.get_by_text(f"工单 {created['number']}：已暂停计时")).to_be_visible()
    await expect(dialog).to_be_hidden()
    await expect(drawer.locator("[data-test=ticket-status]")).to_have_text("办理中（暂停计时）")
    paused = await api(stack, "GET", f"/tickets/{created['id']}")
    event = paused["history"][-1]
    assert (paused["status"], paused["pause_kind"], event["action"]) == ("paused", "survey", "pause")
    assert event["data"]["reason"] == "需现场踏勘管网走向后确定维修方案"
    assert paused["paused_on"] == event["data"]["today"]
    await expect(drawer.locator("[data-test=ticket-paused]")).to_contain_text(f"踏勘，{paused['paused_on']} 起暂停计时")
    item = history_item(drawer, "pause")
    await expect(item).to_contain_text("暂停计时 · 供水孙（承办单位）")
    await expect(item).to_contain_text("踏勘：需现场踏勘管网走向后确定维修方案")
    await offers_only(drawer, "resume")
    # The list behind the drawer was reloaded: the ticket stays in the department's work, paused.
    row = page.locator("[data-test=inbox-table] .el-table__row", has_text=created["number"])
    await expect(row).to_contain_text("办理中（暂停计时）")
    await page.screenshot(path=str(artifacts / "ticket-paused.png"))

    await drawer.locator("[data-test=step-resume]").click()
    await expect(dialog).to_contain_text(f"踏勘，{paused['paused_on']} 起暂停计时")
    await field(dialog, "step-note").fill("踏勘完成，开始维修")
    await dialog.locator("[data-test=step-submit]").click()
    # Resumed the day it was paused: no working day was paused, the deadline stays.
    await expect(page.get_by_text(f"工单 {created['number']}：已恢复计时，办结期限 {due}")).to_be_visible()
    resumed = await api(stack, "GET", f"/tickets/{created['id']}")
    event = resumed["history"][-1]
    assert (resumed["status"], resumed["paused_on"], event["action"], event["note"]) == (
        "processing", None, "resume", "踏勘完成，开始维修")
    assert (event["data"]["paused_days"], resumed["due_date"]) == (0, due)
    await expect(drawer.locator("[data-test=ticket-status]")).to_have_text("办理中")
    await expect(drawer.locator("[data-test=ticket-paused]")).to_have_count(0)
    item = history_item(drawer, "resume")
    await expect(item).to_contain_text(f"办结期限 {due}")
    await expect(item).to_contain_text("踏勘完成，开始维修")
    await offers_only(drawer, "pause")


async def test_the_dispatcher_corrects_the_category_and_the_address_and_reads_a_refusal_in_chinese(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    dispatcher = await user(stack, "dispatcher", name="派单员吴")
    created = await new_ticket(stack, content="物业公司多次拒绝维修电梯，要求投诉。", address="七里河区西津路1号")
    complaint_days = next(c["limit_days"] for c in await api(stack, "GET", "/categories") if c["code"] == "complaint")

    page = await pages.open("dispatcher")
    await log_in(page, stack, dispatcher, "intake")
    drawer = await open_ticket(page, "intake-table", created["number"])
    await expect(drawer.locator("[data-test=ticket-category]")).to_have_text("咨询")
    await offers_only(drawer, "reclassify", "correct")  # the clock runs only once the ticket is handled

    # 改类: the deadline is counted again for the new category.
    await drawer.locator("[data-test=step-reclassify]").click()
    dialog = page.locator("[data-test=step-dialog]")
    await pick(page, "step-category", "投诉")
    await field(dialog, "step-reason").fill("市民反映的是投诉事项")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(drawer.locator("[data-test=ticket-category]")).to_have_text("投诉")
    after = await api(stack, "GET", f"/tickets/{created['id']}")
    event = after["history"][-1]
    assert (after["category"], event["action"], event["data"]["from_category"]) == ("complaint", "reclassify",
                                                                                   "consultation")
    assert (event["data"]["due_days"], event["data"]["reason"]) == (complaint_days, "市民反映的是投诉事项")
    assert after["due_date"] == event["data"]["due_date"] > created["due_date"]
    await expect(drawer.locator("[data-test=ticket-due]")).to_have_text(f"办结期限 {after['due_date']}")
    await expect(history_item(drawer, "reclassify")).to_contain_text(
        f"咨询 → 投诉，办结期限 {after['due_date']}；原因：市民反映的是投诉事项")
    await expect(page.locator("[data-test=intake-table] .el-table__row", has_text=created["number"])).to_contain_text("投诉")

    # 更正: the address, the old value kept in the history; an emptied request is refused in the form.
    await drawer.locator("[data-test=step-correct]").click()
    await expect(dialog.locator("[data-test=step-old]")).to_have_text("七里河区西津路1号")
    await dialog.locator("[data-test=step-field]").get_by_text("诉求内容", exact=True).click()
    await expect(field(dialog, "step-value")).to_have_value("物业公司多次拒绝维修电梯，要求投诉。")
    await field(dialog, "step-value").fill("  ")
    await field(dialog, "step-reason").fill("笔误")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("诉求内容不能为空")
    await dialog.locator("[data-test=step-field]").get_by_text("地址", exact=True).click()
    await expect(field(dialog, "step-value")).to_have_value("七里河区西津路1号")
    await field(dialog, "step-value").fill("七里河区西津西路11号")
    await field(dialog, "step-reason").fill("市民来电更正门牌号")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(drawer.locator("[data-test=ticket-address]")).to_have_text("七里河区西津西路11号")
    after = await api(stack, "GET", f"/tickets/{created['id']}")
    event = after["history"][-1]
    assert (after["address"], after["content"]) == ("七里河区西津西路11号", created["content"])
    assert (event["action"], event["data"]["field"], event["data"]["old"], event["data"]["value"]) == (
        "correct", "address", "七里河区西津路1号", "七里河区西津西路11号")
    await expect(history_item(drawer, "correct")).to_contain_text(
        "地址：“七里河区西津路1号” → “七里河区西津西路11号”；原因：市民来电更正门牌号")
    await page.screenshot(path=str(artifacts / "ticket-corrected.png"))

    # Handled by the centre itself, the dispatcher may stop its clock; someone else does it first:
    # the API's refusal reaches the dialog in Chinese and nothing more is recorded.
    await api(stack, "POST", f"/tickets/{created['id']}/actions", {"action": "dispatch", "mode": "self"})
    await drawer.locator(".el-drawer__close-btn").click()
    await page.locator(".toolbar").get_by_text("办理中", exact=True).click()
    drawer = await open_ticket(page, "intake-table", created["number"])
    await offers_only(drawer, "pause", "reclassify", "correct")
    await drawer.locator("[data-test=step-pause]").click()
    await dialog.locator("[data-test=step-kind]").get_by_text("听证", exact=True).click()
    await field(dialog, "step-reason").fill("需组织听证")
    await api(stack, "POST", f"/tickets/{created['id']}/actions", {"action": "pause", "kind": "review",
                                                                  "reason": "专家评审"})
    await dialog.locator("[data-test=step-submit]").click()
    alert = dialog.locator(".el-alert--error")
    await expect(alert).to_contain_text("工单当前状态不允许此操作")
    await expect(alert).to_contain_text("工单已是“暂停计时”状态，不能暂停计时")
    await page.screenshot(path=str(artifacts / "ticket-step-refused.png"))
    history = (await api(stack, "GET", f"/tickets/{created['id']}"))["history"]
    assert [e["data"].get("kind") for e in history if e["action"] == "pause"] == ["review"]


async def test_a_leader_writes_instructions_that_an_agent_reads_in_the_history_without_any_step_to_take(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    agent = await user(stack, "agent", name="话务员郑")
    leader = await user(stack, "leader", name="领导王")
    created = await new_ticket(stack, content="学校门口早晚高峰拥堵，存在安全隐患。", as_token=await token(stack, agent))

    page = await pages.open("leader")
    await log_in(page, stack, leader, "stats")
    await page.locator(".el-menu").get_by_text("工单查询", exact=True).click()
    await page.wait_for_url(console_url(stack, "tickets"))
    await page.locator(".el-form-item", has_text="工单号").locator("input").fill(created["number"])
    await page.get_by_role("button", name="查询").click()
    drawer = await open_ticket(page, "ticket-table", created["number"])
    await expect(drawer.locator("[data-test=ticket-first]")).to_have_text("话务员郑")  # 首问负责人: who took it
    await offers_only(drawer, "instruct")

    await drawer.locator("[data-test=step-instruct]").click()
    dialog = page.locator("[data-test=step-dialog]")
    await field(dialog, "step-instructions").fill("   ")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请填写批示内容")
    await field(dialog, "step-instructions").fill("请交警部门三日内反馈疏导方案。")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(page.get_by_text(f"工单 {created['number']}：批示已记录")).to_be_visible()
    item = history_item(drawer, "instruct")
    await expect(item).to_contain_text("领导批示 · 领导王（领导）")
    await expect(item).to_contain_text("请交警部门三日内反馈疏导方案。")
    event = await last_event(stack, created["id"])
    assert (event["action"], event["role"], event["data"]["instructions"]) == (
        "instruct", "leader", "请交警部门三日内反馈疏导方案。")
    await page.screenshot(path=str(artifacts / "ticket-instructed.png"))

    desk = await pages.open("agent")
    await log_in(desk, stack, agent, "agent")
    await desk.locator(".el-menu").get_by_text("工单查询", exact=True).click()
    await desk.locator(".el-form-item", has_text="工单号").locator("input").fill(created["number"])
    await desk.get_by_role("button", name="查询").click()
    drawer = await open_ticket(desk, "ticket-table", created["number"])
    await expect(history_item(drawer, "instruct")).to_contain_text("请交警部门三日内反馈疏导方案。")
    await expect(drawer.locator("[data-test=ticket-steps]")).to_have_count(0)
