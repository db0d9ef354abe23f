"""Browser journeys through the console (issue 11): real Chromium, the daemon on a real Asterisk,
SIPp citizens and SIPp agent phones. Each journey logs in as a person of one role, with a page at
1366×768, and checks what the page shows against what the API stored."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from harness import sipp
from harness.browser import api, console_url
from harness.phones import AgentPhone, Answer, wait_contact
from harness.stack import Stack
from tests.console.conftest import Pages
from tests.console.helpers import agent, department, log_in, start_daemon, stop_daemon, user
from tests.polling import eventually

CALLER = "13950000001"


@pytest.fixture
async def daemon_with_5001(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    """The daemon with agent 5001 in its queue (the console tests' ``daemon`` has none), for one test."""
    if "5001" not in stack.agent_passwords:
        await stack.add_agent("5001", "坐席5001")
    await start_daemon(stack, tmp_path, ["5001"])
    try:
        yield stack
    finally:
        await stop_daemon(stack)


async def statistic(page: Page, test_id: str) -> int:
    text = await page.locator(f"[data-test={test_id}] .el-statistic__number").inner_text()
    return int(re.sub(r"[^0-9]", "", text) or "0")


async def test_an_agent_goes_ready_takes_a_call_with_its_screen_pop_and_files_a_ticket_while_the_wallboard_follows(
        daemon_with_5001: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    stack = daemon_with_5001
    agent_user = await user(stack, "agent", name="王芳")
    boss = await user(stack, "supervisor", name="班长李")
    password = await agent(stack, "5001", agent_user)
    async with AgentPhone(stack.sip, "5001", password, workdir=tmp_path / "phone",
                          behaviour=Answer(after_seconds=2.0)) as phone:
        await wait_contact(stack.cli, "5001")

        board = await pages.open("wallboard")
        await log_in(board, stack, boss, "wallboard")
        await expect(board.locator("[data-test=live]")).to_have_text("实时")
        online_before = await statistic(board, "agents-online")
        answered_before = await statistic(board, "answered-today")

        desk = await pages.open("agent")
        await log_in(desk, stack, agent_user, "agent")
        await expect(desk.locator("[data-test=who]")).to_contain_text("工号 5001")
        await expect(desk.locator("[data-test=agent-status]")).to_have_text("未签入")
        await desk.keyboard.press("F2")  # one key: 签入
        await expect(desk.locator("[data-test=agent-status]")).to_have_text("就绪")
        await desk.wait_for_timeout(500)  # the picture after Element Plus's transitions
        await desk.screenshot(path=str(artifacts / "agent-ready.png"))
        # The wallboard sees the agent come in, live.
        await expect(board.locator("[data-test=agents-online] .el-statistic__number")).to_have_text(
            str(online_before + 1), timeout=10_000)
        await eventually(lambda: _registered(stack, "5001"), "phone registered in the daemon")

        steps: list[sipp.Step] = [sipp.Pause(2500), sipp.Keys("1"), sipp.Pause(14_000), sipp.HangUp()]
        caller = asyncio.ensure_future(sipp.call(stack.sip, steps, workdir=tmp_path / "caller", caller=CALLER,
                                                 caller_name="张三", timeout_s=60))
        try:
            # The phone is asked to ring: the screen pop fills the agent's page.
            pop = desk.locator("[data-test=screen-pop]")
            await expect(pop).to_be_visible(timeout=30_000)
            await expect(desk.locator("[data-test=pop-number]")).to_have_text(CALLER)
            await expect(desk.locator("[data-test=pop-ivr]")).not_to_have_text("—")
            await desk.screenshot(path=str(artifacts / "agent-screen-pop.png"))

            # The ticket form is prefilled from the call; the agent picks a category and writes.
            await expect(desk.locator("input[name=phone]")).to_have_value(CALLER)
            await desk.locator("[data-test=category]").click()
            await desk.locator(".el-select-dropdown__item:visible").first.click()
            await desk.locator("textarea[name=content]").fill("小区门口路灯不亮已有一周，请尽快维修。")
            await desk.locator("[data-test=save-ticket]").click()
            code = desk.locator("[data-test=query-code]")
            await expect(code).to_have_text(re.compile(r"^[0-9]{8}$"))
            number = await desk.locator("[data-test=ticket-number]").inner_text()
            [ticket] = (await api(stack, "GET", f"/tickets?number={number}"))["items"]
            assert ticket["query_code"] == await code.inner_text()
            assert ticket["call_id"] and ticket["content"].startswith("小区门口路灯")

            result = await caller
            assert result.ok, result.output
        finally:
            if not caller.done():
                caller.cancel()
        await phone.wait_calls(1)
        # Today's answered calls on the wallboard go up once the call has ended (figures refresh within 10 s).
        await expect(board.locator("[data-test=answered-today] .el-statistic__number")).to_have_text(
            str(answered_before + 1), timeout=20_000)
        await board.screenshot(path=str(artifacts / "wallboard.png"))


async def _registered(stack: Stack, number: str) -> bool:
    state = await api(stack, "GET", f"/agents/{number}/state")
    return bool(state["registered"] and state["status"] == "available")


async def test_a_dispatcher_dispatches_and_the_department_signs_and_replies(
        daemon: Stack, tmp_path: Path, pages: Pages) -> None:
    stack = daemon
    dept = await department(stack, "市政园林局")
    dispatcher = await user(stack, "dispatcher", name="派单员赵")
    handler = await user(stack, "handler", name="园林局钱", department_id=dept)
    created = await api(stack, "POST", "/tickets", {"category": (await api(stack, "GET", "/categories"))[0]["code"],
                                                   "content": "公园的健身器材损坏，存在安全隐患。", "phone": "13950000002"})

    page = await pages.open("dispatcher")
    await log_in(page, stack, dispatcher, "intake")
    row = page.locator("[data-test=intake-table] .el-table__row", has_text=created["number"])
    await row.locator("[data-test=dispatch]").click()
    dialog = page.locator("[data-test=dispatch-dialog]")
    await expect(dialog).to_be_visible()
    await dialog.get_by_text("转送", exact=True).click()
    await dialog.locator("[data-test=dispatch-department]").click()
    await page.locator(".el-select-dropdown__item:visible", has_text="市政园林局").click()
    await dialog.locator("[data-test=dispatch-submit]").click()
    await expect(page.get_by_text(f"工单 {created['number']} 已派发")).to_be_visible()
    detail = await api(stack, "GET", f"/tickets/{created['id']}")
    assert (detail["status"], detail["mode"], detail["department_id"]) == ("dispatched", "transfer", dept)

    inbox = await pages.open("handler")
    await log_in(inbox, stack, handler, "inbox")
    row = inbox.locator("[data-test=inbox-table] .el-table__row", has_text=created["number"])
    await expect(row.locator("[data-colour]")).to_have_attribute("data-colour", detail["colour"])
    await row.locator("[data-test=sign]").click()
    await expect(inbox.get_by_text(f"工单 {created['number']} 已签收")).to_be_visible()
    await inbox.get_by_text("办理中", exact=True).click()
    row = inbox.locator("[data-test=inbox-table] .el-table__row", has_text=created["number"])
    await row.locator("[data-test=reply]").click()
    await inbox.locator("textarea[data-test=reply-text]").fill("已更换损坏的健身器材，并安排每周巡查。")
    await inbox.locator("[data-test=reply-satisfaction]").click()
    await inbox.locator(".el-select-dropdown__item:visible", has_text="基本满意").click()
    await inbox.locator("[data-test=reply-submit]").click()
    await expect(inbox.get_by_text(f"工单 {created['number']} 已答复")).to_be_visible()
    detail = await api(stack, "GET", f"/tickets/{created['id']}")
    assert (detail["status"], detail["satisfaction"]) == ("replied", "basically_satisfied")
    assert detail["reply"].startswith("已更换")


async def test_an_admin_sees_a_broken_menu_refused_at_its_line_then_saves_a_valid_one(
        daemon: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    admin = await user(stack, "admin", name="管理员")
    page = await pages.open("admin")
    await log_in(page, stack, admin, "admin/ivr")
    editor = page.locator("[data-test=menu-editor] .cm-content")
    await expect(editor).to_contain_text("menu: main")
    source = (await api(stack, "GET", "/ivr/menus/main"))["source"]
    lines = source.split("\n")
    bad_line = next(i for i, text in enumerate(lines, start=1) if text.strip() == "closed: after_hours")
    broken = "\n".join(text.replace("closed: after_hours", "closed: nowhere") if i == bad_line else text
                       for i, text in enumerate(lines, start=1))

    async def type_menu(text: str) -> None:
        await editor.click()
        await page.keyboard.press("Control+A")
        await page.keyboard.press("Delete")
        await page.keyboard.insert_text(text)

    await type_menu(broken)
    await page.locator("[data-test=save-menu]").click()
    fault = page.locator("[data-test=menu-fault]").first
    await expect(fault).to_contain_text(f"第 {bad_line} 行")
    await expect(fault).to_contain_text("nowhere")
    await page.screenshot(path=str(artifacts / "menu-refused.png"))
    await expect(page.locator("[data-test=menu-editor] .cm-lint-marker-error")).to_have_count(1)
    assert (await api(stack, "GET", "/ivr/menus/main"))["source"] == source  # nothing changed

    await type_menu(source.replace("menu: main", "menu: main  # checked in the console", 1))
    await page.locator("[data-test=save-menu]").click()
    await expect(page.locator("[data-test=menu-saved]")).to_contain_text("已保存并生效")
    await expect(page.locator("[data-test=menu-fault]")).to_have_count(0)
    assert "checked in the console" in (await api(stack, "GET", "/ivr/menus/main"))["source"]

    # The floor: the queues in service and the agents.
    await page.locator(".el-menu").get_by_text("队列与坐席").click()
    await expect(page.locator(".el-table").first).to_contain_text("综合服务")
    await page.get_by_role("tab", name="坐席").click()
    await expect(page.get_by_role("button", name="新增坐席")).to_be_visible()
    await page.screenshot(path=str(artifacts / "admin-agents.png"))


async def test_each_role_sees_its_own_pages_and_api_errors_read_in_chinese(
        daemon: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    leader = await user(stack, "leader", name="领导孙")
    dispatcher = await user(stack, "dispatcher", name="派单员周")

    page = await pages.open("leader")
    await page.goto(console_url(stack, "login"))
    await page.locator("input[name=username]").fill(leader)
    await page.locator("input[name=password]").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_text("用户名或密码错误")).to_be_visible()

    await log_in(page, stack, leader, "stats")
    menu = page.locator(".el-menu")
    await expect(menu).to_contain_text("统计分析")
    await expect(menu).to_contain_text("监控大屏")
    for other in ("接线台", "受理派单", "IVR 菜单", "队列与坐席"):
        await expect(menu).not_to_contain_text(other)
    await expect(page.locator(".chart canvas").first).to_be_visible()  # ECharts drew the figures
    await page.screenshot(path=str(artifacts / "statistics.png"))
    # A page of another role, typed in the address bar, goes back to the role's own.
    await page.goto(console_url(stack, "admin/ivr"))
    await page.wait_for_url(console_url(stack, "stats"))

    # Someone else decides on the ticket while the dispatcher has it on screen: the API's 409
    # reaches the dispatcher in Chinese.
    created = await api(stack, "POST", "/tickets", {"category": (await api(stack, "GET", "/categories"))[0]["code"],
                                                   "content": "噪音扰民，夜间施工。", "phone": "13950000003"})
    desk = await pages.open("dispatcher")
    await log_in(desk, stack, dispatcher, "intake")
    row = desk.locator("[data-test=intake-table] .el-table__row", has_text=created["number"])
    await row.locator("[data-test=dispatch]").click()
    dialog = desk.locator("[data-test=dispatch-dialog]")
    await dialog.get_by_text("自办", exact=True).click()
    await api(stack, "POST", f"/tickets/{created['id']}/actions", {"action": "dispatch", "mode": "self"})
    await dialog.locator("[data-test=dispatch-submit]").click()
    await expect(dialog.locator(".el-alert")).to_contain_text("工单当前状态不允许此操作")
    await desk.screenshot(path=str(artifacts / "dispatch-conflict.png"))
