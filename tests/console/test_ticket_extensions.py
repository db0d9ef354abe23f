"""Browser journeys through the extension, urging and linking steps of the detail drawer (issue 11 on W-9..W-11,
W-16): the lead department asks for more working days, a dispatcher approves the request (the deadline moves)
and refuses the next one; a dispatcher urges an overdue ticket, links it to a duplicate hint, merges a new
ticket into it by its number, and prints its transfer slip and urge notice. Each step is taken as the role the
API allows, the buttons absent for the others, and checked in the page, the history and what the API stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, expect

from callcore.store.base import utcnow
from harness.browser import api
from harness.stack import Stack
from tests.console.conftest import Pages
from tests.console.helpers import citizen_number, department, field, log_in, pick, token, user
from tests.console.test_ticket_steps import history_item, open_ticket

STEPS = ("request_extension", "approve_extension", "refuse_extension", "urge", "link", "merge")


async def offers_only(drawer: Locator, *steps: str) -> None:
    """The drawer shows the buttons of ``steps`` and of no other step of these journeys."""
    for step in STEPS:
        await expect(drawer.locator(f"[data-test=step-{step}]")).to_have_count(1 if step in steps else 0)


async def ticket(stack: Stack, ticket_id: str) -> dict[str, Any]:
    return dict(await api(stack, "GET", f"/tickets/{ticket_id}"))


async def take(page: Page, drawer: Locator, step: str) -> Locator:
    """Opens ``step``'s dialog from the drawer; the dialog."""
    await drawer.locator(f"[data-test=step-{step}]").click()
    dialog = page.locator("[data-test=step-dialog]")
    await expect(dialog).to_be_visible()
    return dialog


async def submit(page: Page, dialog: Locator, message: str) -> None:
    """Submits the dialog and waits for the success message ``message`` and the dialog to close."""
    await dialog.locator("[data-test=step-submit]").click()
    await expect(page.get_by_text(message)).to_be_visible()
    await expect(dialog).to_be_hidden()


async def test_the_department_asks_for_an_extension_that_the_dispatcher_approves_then_refuses_the_next(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    dept = await department(stack, "市政养护中心")
    handler = await user(stack, "handler", name="养护钱", department_id=dept)
    dispatcher = await user(stack, "dispatcher", name="派单员冯")
    created = dict(await api(stack, "POST", "/tickets", {"category": "consultation", "phone": citizen_number(),
                                                         "content": "人行道地砖大面积松动，雨天溅水。"}))
    tid, number = created["id"], created["number"]
    await api(stack, "POST", f"/tickets/{tid}/actions", {"action": "dispatch", "mode": "transfer", "department_id": dept})
    await api(stack, "POST", f"/tickets/{tid}/actions", {"action": "sign"}, token=await token(stack, handler))
    due = (await ticket(stack, tid))["due_date"]

    # The department asks for three more working days; the reason is asked for first.
    desk = await pages.open("handler")
    await log_in(desk, stack, handler, "inbox")
    await desk.locator(".toolbar").get_by_text("办理中", exact=True).click()
    drawer = await open_ticket(desk, "inbox-table", number)
    await offers_only(drawer, "request_extension")
    dialog = await take(desk, drawer, "request_extension")
    await field(dialog, "step-days").fill("3")
    await field(dialog, "step-days").press("Tab")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请填写原因")
    assert (await ticket(stack, tid))["extension_until"] is None
    await field(dialog, "step-reason").fill("需协调燃气管线迁改后施工")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_be_hidden()
    asked = await ticket(stack, tid)
    until = asked["extension_until"]
    assert until and until > due and asked["due_date"] == due
    event = asked["history"][-1]
    assert (event["action"], event["data"]["days"], event["data"]["until"], event["data"]["reason"]) == (
        "request_extension", 3, until, "需协调燃气管线迁改后施工")
    await expect(desk.get_by_text(f"工单 {number}：已申请延期至 {until}，待审批")).to_be_visible()
    await expect(drawer.locator("[data-test=ticket-extension]")).to_have_text(f"申请延期至 {until}，待审批")
    await expect(history_item(drawer, "request_extension")).to_contain_text(
        f"申请延期至 {until}（3 个工作日）；原因：需协调燃气管线迁改后施工")
    await offers_only(drawer)  # one request at a time; deciding is the centre's

    # The dispatcher approves it as asked: the deadline is the date asked for.
    page = await pages.open("dispatcher")
    await log_in(page, stack, dispatcher, "intake")
    await page.locator(".toolbar").get_by_text("办理中", exact=True).click()
    drawer = await open_ticket(page, "intake-table", number)
    await offers_only(drawer, "approve_extension", "refuse_extension", "link")
    dialog = await take(page, drawer, "approve_extension")
    await expect(dialog.locator("[data-test=step-asked]")).to_have_text(until)
    await expect(dialog).to_contain_text("需协调燃气管线迁改后施工")
    await expect(dialog.get_by_role("combobox", name="批准延期至")).to_have_value(until)
    await submit(page, dialog, f"工单 {number}：已批准延期，办结期限 {until}")
    approved = await ticket(stack, tid)
    assert (approved["due_date"], approved["extension_until"], approved["history"][-1]["action"]) == (
        until, None, "approve_extension")
    await expect(drawer.locator("[data-test=ticket-due]")).to_have_text(f"办结期限 {until}")
    await expect(drawer.locator("[data-test=ticket-extension]")).to_have_count(0)
    await expect(history_item(drawer, "approve_extension")).to_contain_text("批准延期 · 派单员冯（派单员）")
    await expect(history_item(drawer, "approve_extension")).to_contain_text(f"办结期限延至 {until}")
    await offers_only(drawer, "link")
    await page.screenshot(path=str(artifacts / "extension-approved.png"))

    # A second request is refused with a reason: the deadline stays.
    await api(stack, "POST", f"/tickets/{tid}/actions", {"action": "request_extension", "days": 2, "reason": "材料未到"},
              token=await token(stack, handler))
    await drawer.locator(".el-drawer__close-btn").click()
    drawer = await open_ticket(page, "intake-table", number)
    await offers_only(drawer, "approve_extension", "refuse_extension", "link")
    dialog = await take(page, drawer, "refuse_extension")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请填写原因")
    await field(dialog, "step-reason").fill("已延期一次，请按期办结")
    await submit(page, dialog, f"工单 {number}：已不批准延期，办结期限仍为 {until}")
    refused = await ticket(stack, tid)
    event = refused["history"][-1]
    assert (refused["due_date"], refused["extension_until"]) == (until, None)
    assert (event["action"], event["data"]["reason"]) == ("refuse_extension", "已延期一次，请按期办结")
    await expect(history_item(drawer, "refuse_extension")).to_contain_text("原因：已延期一次，请按期办结")


async def test_a_dispatcher_urges_an_overdue_ticket_links_and_merges_duplicates_and_prints_its_slip_and_notice(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    dept = await department(stack, "城管执法局")
    dispatcher = await user(stack, "dispatcher", name="派单员陈")
    content = "夜市摊贩占道经营，噪音扰民到凌晨两点。"
    old = dict(await api(stack, "POST", "/tickets", {
        "category": "complaint", "phone": citizen_number(), "content": content,
        "received_at": (utcnow() - timedelta(days=60)).isoformat()}))
    await api(stack, "POST", f"/tickets/{old['id']}/actions",
              {"action": "dispatch", "mode": "transfer", "department_id": dept})
    hint = dict(await api(stack, "POST", "/tickets", {"category": "complaint", "phone": citizen_number(),
                                                      "content": content}))
    third = dict(await api(stack, "POST", "/tickets", {"category": "consultation", "phone": citizen_number(),
                                                       "content": "同一夜市，摊贩垃圾无人清扫。"}))

    page = await pages.open("dispatcher")
    await log_in(page, stack, dispatcher, "intake")
    await page.locator(".toolbar").get_by_text("办理中", exact=True).click()
    drawer = await open_ticket(page, "intake-table", old["number"])
    await offers_only(drawer, "urge", "link")  # overdue and with the department: no merge, nothing to decide

    # 催办: the note is asked for; the department reads it in the history.
    dialog = await take(page, drawer, "urge")
    await expect(dialog).to_contain_text(f"{old['due_date']}（已超期）")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请填写催办意见")
    await field(dialog, "step-note").fill("市民再次来电，请今日内处置并反馈")
    await submit(page, dialog, f"工单 {old['number']}：已催办（第 1 次）")
    urged = await ticket(stack, old["id"])
    event = urged["history"][-1]
    assert (urged["urge_count"], event["action"], event["note"], event["data"]["number"]) == (
        1, "urge", "市民再次来电，请今日内处置并反馈", 1)
    item = history_item(drawer, "urge")
    await expect(item).to_contain_text("催办 · 派单员陈（派单员）")
    await expect(item).to_contain_text(f"第 1 次催办，办结期限 {old['due_date']}")
    await expect(item).to_contain_text("市民再次来电，请今日内处置并反馈")
    await expect(drawer.locator("[data-test=ticket-urged]")).to_have_text("已催办 1 次")

    # 关联: the other ticket picked from the duplicate hints.
    dialog = await take(page, drawer, "link")
    await dialog.locator("[data-test=step-submit]").click()
    await expect(dialog).to_contain_text("请选择或输入另一张工单的工单号")
    await pick(page, "step-other", hint["number"])
    await submit(page, dialog, f"工单 {old['number']}：已关联")
    await expect(drawer.locator("[data-test=ticket-links]")).to_contain_text(hint["number"])
    await expect(history_item(drawer, "link")).to_contain_text(f"工单 {hint['number']}")
    linked = await ticket(stack, old["id"])
    assert [(li["other_id"], li["kind"]) for li in linked["links"]] == [(hint["id"], "related")]
    assert [li["other_id"] for li in (await ticket(stack, hint["id"]))["links"]] == [old["id"]]

    # 转办单 and 催办通知书: fetched with the session, opened in a window of their own to print.
    async with page.expect_popup() as opened:
        await drawer.locator("[data-test=print-slip]").click()
    slip = await opened.value
    await expect(slip.locator("body")).to_contain_text(old["number"])
    await expect(slip.locator("body")).to_contain_text("转办单")
    await slip.screenshot(path=str(artifacts / "transfer-slip.png"))
    await slip.close()
    async with page.expect_popup() as opened:
        await drawer.locator("[data-test=print-urge-notice]").click()
    notice = await opened.value
    await expect(notice.locator("body")).to_contain_text("催办通知书")
    await expect(notice.locator("body")).to_contain_text("第1次")
    await notice.close()

    # 合并: a new ticket at the centre merged into the old one, typed by its number.
    await drawer.locator(".el-drawer__close-btn").click()
    await page.locator(".toolbar").get_by_text("待派发", exact=True).click()
    drawer = await open_ticket(page, "intake-table", third["number"])
    await offers_only(drawer, "link", "merge")
    dialog = await take(page, drawer, "merge")
    await dialog.locator("[data-test=step-other]").click()
    await page.keyboard.type(old["number"])
    await page.locator(".el-select-dropdown__item:visible", has_text=old["number"]).first.click()
    await submit(page, dialog, f"工单 {third['number']}：已合并至工单 {old['number']}")
    merged = await ticket(stack, third["id"])
    assert (merged["status"], merged["merged_into"]) == ("merged", old["id"])
    await expect(drawer.locator("[data-test=ticket-status]")).to_have_text("已合并")
    await expect(history_item(drawer, "merge")).to_contain_text(f"工单 {old['number']}")
    await offers_only(drawer, "link")
    await page.screenshot(path=str(artifacts / "ticket-merged.png"))
