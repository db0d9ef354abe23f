"""Browser journeys through the admin pages (users, departments, categories, the working-day calendar)
and the leader's downloads on the statistics page (issue 11): real Chromium at 1366×768 on the daemon
of the session's stack; each page checked against what the API stored."""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from openpyxl import load_workbook
from playwright.async_api import Page, expect

from callcore.accounts.users import handler_mobiles
from callcore.store.db import Database
from harness.browser import api, console_url
from harness.stack import Stack
from tests.console.conftest import Pages
from tests.console.helpers import PASSWORD, department, field, log_in, pick, user

BEIJING = timezone(timedelta(hours=8))
ADMIN_PAGES = ("用户管理", "承办单位", "诉求类别", "工作日历", "IVR 菜单", "队列与坐席")


async def admin_page(stack: Stack, pages: Pages, menu_item: str) -> Page:
    """A new admin logged in, on the admin page the menu names."""
    admin = await user(stack, "admin", name="管理员吴")
    page = await pages.open("admin")
    await log_in(page, stack, admin, "admin/ivr")
    await page.locator(".el-menu").get_by_text(menu_item, exact=True).click()
    return page


async def test_an_admin_creates_a_department_and_a_user_of_it_moves_the_user_resets_the_password_and_disables_it(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    code = f"dep{secrets.token_hex(3)}"
    page = await admin_page(stack, pages, "承办单位")
    await page.wait_for_url(console_url(stack, "admin/departments"))

    # A code with a space is refused in the form, before the API is asked.
    await page.locator("[data-test=new-department]").click()
    dialog = page.locator("[data-test=department-dialog]")
    await field(dialog, "department-code").fill("bad code")
    await field(dialog, "department-name").fill("城市管理局")
    await dialog.locator("[data-test=department-save]").click()
    await expect(dialog).to_contain_text("编码为 1 至 32 位字母、数字、_ 或 -")
    await field(dialog, "department-code").fill(code)
    await field(dialog, "department-contact").fill("值班室")
    await dialog.locator("[data-test=department-save]").click()
    await expect(page.get_by_text("单位 城市管理局 已创建")).to_be_visible()
    row = page.locator("[data-test=department-table] .el-table__row", has_text=code)
    await expect(row).to_contain_text("城市管理局")
    dept = next(d for d in await api(stack, "GET", "/departments") if d["code"] == code)
    assert (dept["name"], dept["contact"], dept["active"]) == ("城市管理局", "值班室", True)
    # Edited in place; its code stays.
    await row.locator("[data-test=edit-department]").click()
    await field(dialog, "department-name").fill("城市管理综合执法局")
    await dialog.locator("[data-test=department-save]").click()
    await expect(page.locator("[data-test=department-table] .el-table__row", has_text=code)).to_contain_text("城市管理综合执法局")
    assert next(d for d in await api(stack, "GET", "/departments") if d["code"] == code)["name"] == "城市管理综合执法局"

    # A handler of that department: the form insists on the department.
    username = f"handler-{secrets.token_hex(3)}"
    await page.locator(".el-menu").get_by_text("用户管理", exact=True).click()
    await page.wait_for_url(console_url(stack, "admin/users"))
    await page.locator("[data-test=new-user]").click()
    dialog = page.locator("[data-test=user-dialog]")
    await field(dialog, "user-username").fill(username)
    await field(dialog, "user-name").fill("执法局郑")
    await pick(page, "user-role", "承办单位")
    await field(dialog, "user-password").fill("first-password-123")
    await dialog.locator("[data-test=user-save]").click()
    await expect(dialog).to_contain_text("承办单位用户必须选择所属单位")
    await pick(page, "user-department", "城市管理综合执法局")
    await dialog.locator("[data-test=user-save]").click()
    await expect(page.locator("[data-test=user-notice]")).to_contain_text(f"用户 {username} 已创建")
    row = page.locator("[data-test=user-table] .el-table__row", has_text=username)
    await expect(row).to_contain_text("城市管理综合执法局")
    created = next(u for u in await api(stack, "GET", "/admin/users") if u["username"] == username)
    assert (created["role"], created["department_id"], created["name"]) == ("handler", dept["id"], "执法局郑")
    # The same account twice: refused in Chinese, nothing changed.
    await page.locator("[data-test=new-user]").click()
    await field(dialog, "user-username").fill(username)
    await field(dialog, "user-password").fill("other-password-123")
    await dialog.locator("[data-test=user-save]").click()
    await expect(dialog).to_contain_text(f"登录账号 {username} 已存在")
    await dialog.get_by_role("button", name="取消").click()
    await page.screenshot(path=str(artifacts / "admin-users.png"))

    # Moved to the centre: a dispatcher of no department.
    await row.locator("[data-test=edit-user]").click()
    await pick(page, "user-role", "派单员")
    await page.locator("[data-test=user-department]").hover()
    await page.locator("[data-test=user-department] .el-select__clear").click()
    await dialog.locator("[data-test=user-save]").click()
    await expect(row).to_contain_text("派单员")
    changed = next(u for u in await api(stack, "GET", "/admin/users") if u["username"] == username)
    assert (changed["role"], changed["department_id"], changed["name"]) == ("dispatcher", None, "执法局郑")

    # A new password, then the user logs in with it and lands on the dispatcher's page.
    await row.locator("[data-test=reset-password]").click()
    reset = page.locator("[data-test=reset-dialog]")
    await field(reset, "reset-password-input").fill(PASSWORD)
    await reset.locator("[data-test=reset-save]").click()
    await expect(page.locator("[data-test=user-notice]")).to_contain_text(f"用户 {username} 的新密码")
    person = await pages.open("user")
    await log_in(person, stack, username, "intake")
    # The user watches the wallboard: a live feed over a WebSocket, opened with a socket ticket.
    tickets: list[str] = []
    person.on("request", lambda r: tickets.append(r.url) if r.url.endswith("/console/socket-tickets") else None)
    await person.locator(".el-menu").get_by_text("监控大屏", exact=True).click()
    await expect(person.locator("[data-test=live]")).to_have_text("实时")

    # Disabled: the account is inactive and its session is gone; the daemon closes the user's feed
    # (4401), and the page goes to the login by itself, without asking to reopen the feed.
    await row.locator("[data-test=toggle-user]").click()
    await page.locator(".el-message-box").get_by_role("button", name="确定").click()
    await expect(row.locator(".el-tag")).to_have_text("停用")
    assert next(u for u in await api(stack, "GET", "/admin/users") if u["username"] == username)["active"] is False
    await person.wait_for_url(f"{console_url(stack, 'login')}**")
    await expect(person.get_by_text("登录已失效，请重新登录")).to_be_visible()
    assert len(tickets) == 1, tickets


async def sms_mobiles(stack: Stack, department_id: str) -> list[str]:
    """The mobiles the store sends the department's SMS notices to (W-17), whole."""
    db = Database(stack.settings.database_url)
    try:
        async with db.session() as s:
            return await handler_mobiles(s, department_id)
    finally:
        await db.close()


async def test_an_admin_gives_a_handler_the_mobile_for_the_departments_sms_sees_it_masked_and_removes_it(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    mobile = "13950008801"
    dept = await department(stack, "燃气公司")
    username = await user(stack, "handler", name="燃气周", department_id=dept)
    page = await admin_page(stack, pages, "用户管理")
    await page.wait_for_url(console_url(stack, "admin/users"))
    row = page.locator("[data-test=user-table] .el-table__row", has_text=username)
    await expect(row.locator("[data-test=user-mobile]")).to_have_text("—")

    # Not a mobile: refused in the form, nothing stored.
    await row.locator("[data-test=edit-user]").click()
    dialog = page.locator("[data-test=user-dialog]")
    await field(dialog, "user-mobile-input").fill("1395000")
    await dialog.locator("[data-test=user-save]").click()
    await expect(dialog).to_contain_text("应为 11 位手机号码（如 13912345678），或留空")
    assert await sms_mobiles(stack, dept) == []

    await field(dialog, "user-mobile-input").fill(mobile)
    await dialog.locator("[data-test=user-save]").click()
    await expect(row.locator("[data-test=user-mobile]")).to_have_text("139****8801")
    listed = next(u for u in await api(stack, "GET", "/admin/users") if u["username"] == username)
    assert listed["mobile"] == "139****8801"
    assert await sms_mobiles(stack, dept) == [mobile]

    # The masked number left as it is keeps the mobile while the name changes.
    await row.locator("[data-test=edit-user]").click()
    await expect(field(dialog, "user-mobile-input")).to_have_value("139****8801")
    await page.screenshot(path=str(artifacts / "admin-user-mobile.png"))
    await field(dialog, "user-name").fill("燃气周敏")
    await dialog.locator("[data-test=user-save]").click()
    await expect(row).to_contain_text("燃气周敏")
    assert await sms_mobiles(stack, dept) == [mobile]

    # Emptied: the department's SMS no longer go to this user.
    await row.locator("[data-test=edit-user]").click()
    await field(dialog, "user-mobile-input").fill("")
    await dialog.locator("[data-test=user-save]").click()
    await expect(row.locator("[data-test=user-mobile]")).to_have_text("—")
    assert await sms_mobiles(stack, dept) == []


async def test_an_admin_adds_a_category_with_its_deadline_in_working_days_and_changes_it(
        daemon: Stack, pages: Pages) -> None:
    stack = daemon
    code = f"zz_{secrets.token_hex(3)}"  # sorts after the shipped categories other journeys pick first
    page = await admin_page(stack, pages, "诉求类别")
    await page.wait_for_url(console_url(stack, "admin/categories"))
    await expect(page.locator("[data-test=category-table] .el-table__row", has_text="complaint")).to_contain_text(
        "15 个工作日")
    await page.locator("[data-test=new-category]").click()
    dialog = page.locator("[data-test=category-dialog]")
    await field(dialog, "category-code").fill("complaint")
    await field(dialog, "category-name").fill("道路坑洼")
    await dialog.locator("[data-test=category-save]").click()
    await expect(dialog).to_contain_text("编码 complaint 已存在")  # a new category never overwrites one
    await field(dialog, "category-code").fill(code)
    await field(dialog, "category-limit").fill("3")
    await field(dialog, "category-limit").press("Tab")
    await dialog.locator("[data-test=category-save]").click()
    row = page.locator("[data-test=category-table] .el-table__row", has_text=code)
    await expect(row).to_contain_text("3 个工作日")
    got = next(c for c in await api(stack, "GET", "/categories") if c["code"] == code)
    assert (got["name"], got["limit_days"], got["active"]) == ("道路坑洼", 3, True)

    await row.locator("[data-test=edit-category]").click()
    await field(dialog, "category-limit").fill("0")
    await field(dialog, "category-limit").press("Tab")
    await expect(dialog).to_contain_text("新的时限用于此后受理的工单")
    await dialog.locator("[data-test=category-save]").click()
    await expect(row).to_contain_text("当日办结")
    assert next(c for c in await api(stack, "GET", "/categories") if c["code"] == code)["limit_days"] == 0
    assert (await api(stack, "GET", "/categories"))[0]["code"] != code


async def test_an_admin_adds_and_removes_a_calendar_override_and_is_warned_of_a_year_without_holiday_data(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    # Whether the installed holiday package covers next year decides which warnings the page shows.
    coverage = (await api(stack, "GET", "/calendar"))["holiday_data_years"]
    this_year = datetime.now(BEIJING).year
    missing = sorted(y for y, ok in coverage.items() if not ok and int(y) >= this_year)
    # A day far from every other journey's deadlines, on a weekday.
    day = f"{this_year + 5}-05-06"
    page = await admin_page(stack, pages, "工作日历")
    await page.wait_for_url(console_url(stack, "admin/calendar"))
    for y, ok in coverage.items():
        await expect(page.locator("[data-test=holiday-year]", has_text=f"{y}年")).to_have_text(
            f"{y}年{'已内置' if ok else '缺失'}")
    warnings = page.locator("[data-test=holiday-missing]")
    await expect(warnings).to_have_count(len(missing))
    for i, y in enumerate(missing):
        await expect(warnings.nth(i)).to_contain_text(f"{y}年法定节假日数据缺失，请管理员录入调休安排")
    if str(this_year + 1) in missing:
        await page.screenshot(path=str(artifacts / "calendar-missing-year.png"))

    await field(page, "override-day").fill(day)
    await field(page, "override-day").press("Enter")
    await page.locator("[data-test=override-kind]").get_by_text("放假", exact=True).click()
    await field(page, "override-note").fill("测试调休")
    await page.locator("[data-test=override-add]").click()
    row = page.locator("[data-test=override-table] .el-table__row", has_text=day)
    await expect(row).to_contain_text("放假")
    await expect(row).to_contain_text("测试调休")
    overrides = (await api(stack, "GET", "/calendar"))["overrides"]
    assert {"day": day, "workday": False, "note": "测试调休"} in overrides
    # The month view shows the month of the day just changed, the day marked.
    await page.get_by_role("tab", name="月历").click()
    cell = page.locator(f"[data-test=override-calendar] [data-day='{day}']")
    await expect(cell).to_contain_text("休")
    await expect(cell).to_contain_text("测试调休")
    await page.screenshot(path=str(artifacts / "calendar-month.png"))
    await page.get_by_role("tab", name="调整列表").click()

    await row.locator("[data-test=override-remove]").click()
    await page.locator(".el-message-box").get_by_role("button", name="确定").click()
    await expect(page.locator("[data-test=override-table] .el-table__row", has_text=day)).to_have_count(0)
    assert day not in [o["day"] for o in (await api(stack, "GET", "/calendar"))["overrides"]]


async def test_a_leader_downloads_the_ticket_export_and_the_s1_statistics_of_the_period(
        daemon: Stack, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    phone = "13950000007"
    category = (await api(stack, "GET", "/categories"))[0]["code"]
    created = await api(stack, "POST", "/tickets", {"category": category, "content": "路灯不亮，夜间出行不便。",
                                                   "phone": phone})
    leader = await user(stack, "leader", name="领导冯")
    page = await pages.open("leader")
    await log_in(page, stack, leader, "stats")

    async with page.expect_download() as got:
        await page.locator("[data-test=export-tickets]").click()
    download = await got.value
    assert download.suggested_filename.startswith("tickets-") and download.suggested_filename.endswith(".xlsx")
    path = artifacts / download.suggested_filename
    await download.save_as(path)
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:2] == ["工单编号", "受理时间"]
    mine = next(r for r in rows[1:] if r[0] == created["number"])
    assert mine[5] == "139****0007"  # masked as the API masks it
    assert not [c for r in rows for c in r if phone in str(c)]
    await expect(page.get_by_text(f"已下载 {download.suggested_filename}")).to_be_visible()

    async with page.expect_download() as got:
        await page.locator("[data-test=export-s1]").click()
    download = await got.value
    assert download.suggested_filename.startswith("s1-") and download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(await download.path()).read_bytes())).active
    assert sheet is not None and sheet.title.startswith("S-1 ")
    assert [c.value for c in sheet[1]][:5] == ["单位", "收件", "签收", "退回", "办结"]
    await page.screenshot(path=str(artifacts / "statistics-exports.png"))


async def test_an_agent_sees_no_admin_page_in_the_menu_nor_by_address(daemon: Stack, pages: Pages) -> None:
    stack = daemon
    agent = await user(stack, "agent", name="话务员陈")
    page = await pages.open("agent")
    await log_in(page, stack, agent, "agent")
    menu = page.locator(".el-menu")
    await expect(menu).to_contain_text("接线台")
    for title in ADMIN_PAGES:
        await expect(menu).not_to_contain_text(title)
    await page.goto(console_url(stack, "admin/users"))
    await page.wait_for_url(console_url(stack, "agent"))
    await expect(page.locator("[data-test=user-table]")).to_have_count(0)


async def test_a_supervisor_who_logs_out_from_the_wallboard_sees_the_login_page_and_no_expiry(
        daemon: Stack, pages: Pages) -> None:
    """Logging out ends the login, and the daemon closes its feed (4401): the page leaves first, so
    the person who chose to leave is not told their login expired."""
    stack = daemon
    supervisor = await user(stack, "supervisor", name="班长孙")
    page = await pages.open("supervisor")
    await log_in(page, stack, supervisor, "wallboard")
    await expect(page.locator("[data-test=live]")).to_have_text("实时")
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url(f"{console_url(stack, 'login')}**")
    await expect(page.get_by_role("button", name="登录")).to_be_visible()
    await expect(page.get_by_text("登录已失效，请重新登录")).to_have_count(0)
    assert await page.evaluate("sessionStorage.getItem('callcore.session')") is None
