"""Browser journeys through the console's telephony panes (issue 11, second slice): voicemail
played in the page and marked handled, callback tasks listed and cancelled by a supervisor,
click-to-dial refused in Chinese (from a ticket and from a callback task), a ticket's recording
played, the wallboard's callbacks and full-screen mode, and, with real calls, an agent rung for a
callback task. Messages and tasks are mostly stored as the daemon stores them (no real call needed
to show them); the daemon, its Asterisk and Chromium are real."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.async_api import Response, expect

from harness.browser import api
from harness.phones import AgentPhone, Answer, TrunkPhone, wait_contact
from harness.stack import Stack
from tests.console.conftest import Pages
from tests.console.helpers import (agent, citizen_number, log_in, start_daemon, stop_daemon, store_callback_task,
                                   store_recording, store_voicemail, user)
from tests.polling import eventually


@pytest.fixture
async def daemon(stack: Stack, tmp_path: Path) -> AsyncIterator[Stack]:
    try:
        yield stack
    finally:
        await stop_daemon(stack)


async def test_an_agent_plays_a_voicemail_in_the_page_and_marks_it_handled(
        daemon: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    if "5003" not in stack.agent_passwords:
        await stack.add_agent("5003", "坐席5003")  # before the daemon starts: its feed knows the agent
    await start_daemon(stack, tmp_path, [])
    rec_id = await store_voicemail(stack, seconds=3.0)
    agent_user = await user(stack, "agent", name="留言处理员")
    await agent(stack, "5003", agent_user)
    uid = next(u["id"] for u in await api(stack, "GET", "/admin/users") if u["username"] == agent_user)

    page = await pages.open("agent")
    await log_in(page, stack, agent_user, "agent")
    await page.get_by_role("tab", name="语音留言").click()
    row = page.locator(f"[data-test=voicemails-table] .el-table__row.vm-{rec_id}")
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("未处理")

    def is_audio(r: Response) -> bool:
        return f"/api/v1/console/recordings/{rec_id}/audio" in r.url

    async with page.expect_response(is_audio) as played:
        await row.locator("[data-test=play]").click()
    response = await played.value
    assert response.status in (200, 206), response.status
    audio = page.locator("[data-test=now-playing] audio[data-test=audio]")
    await expect(audio).to_have_attribute("src", re.compile(rf"/api/v1/console/recordings/{rec_id}/audio\?ticket="))
    # The element has the audio: its duration is the message's.
    duration = await audio.evaluate("el => new Promise(ok => el.readyState >= 1 ? ok(el.duration)"
                                    "  : el.addEventListener('loadedmetadata', () => ok(el.duration)))")
    assert abs(float(duration) - 3.0) < 0.2, duration
    await page.screenshot(path=str(artifacts / "voicemail-playing.png"))
    # The play is in the audit log, as this agent's (a player that starts over is a second play).
    audit = await api(stack, "GET", f"/audit?object_id={rec_id}")
    assert audit and {(a["action"], a["user_id"]) for a in audit} == {("recording_play", uid)}, audit

    await row.locator("[data-test=mark-handled]").click()
    await expect(page.get_by_text("留言已标记为已处理")).to_be_visible()
    assert rec_id not in [v["id"] for v in await _voicemails(stack, handled=False)]
    [done] = [v for v in await _voicemails(stack, handled=True) if v["id"] == rec_id]
    assert done["handled_by"] == uid
    await page.get_by_text("已处理", exact=True).first.click()
    await expect(page.locator("[data-test=voicemails-table] .el-table__row")).not_to_have_count(0)


async def _voicemails(stack: Stack, *, handled: bool) -> list[dict[str, object]]:
    return list((await api(stack, "GET", f"/voicemails?handled={str(handled).lower()}&limit=500"))["items"])


async def test_a_supervisor_sees_callback_tasks_and_figures_and_cancels_a_task_with_a_reason(
        daemon: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    await start_daemon(stack, tmp_path, [])
    number = citizen_number()
    task_id = await store_callback_task(stack, number)
    boss = await user(stack, "supervisor", name="班长回拨")
    before = await api(stack, "GET", "/callbacks/figures?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z")

    page = await pages.open("supervisor")
    await log_in(page, stack, boss, "wallboard")
    # The wallboard: callbacks booked per queue beside the callers waiting, and full screen.
    await expect(page.locator("[data-test=live]")).to_have_text("实时")
    await expect(page.locator("[data-test=queues-table]")).to_contain_text("回拨")
    await expect(page.locator("[data-test=callbacks-total]")).to_be_visible()
    await page.locator("[data-test=fullscreen]").click()
    board = page.locator("[data-test=wallboard]")
    await expect(board).to_have_attribute("data-full", "yes")
    box = await board.bounding_box()
    assert box is not None and box["width"] >= 1366 - 1 and box["height"] >= 768 - 1, box  # the whole screen
    await page.screenshot(path=str(artifacts / "wallboard-full-screen.png"))
    await page.locator("[data-test=fullscreen]").click()
    await expect(board).to_have_attribute("data-full", "no")

    await page.locator(".el-menu").get_by_text("回拨任务").click()
    await page.wait_for_url(re.compile(r"/console/callbacks$"))
    await expect(page.locator("[data-test=fig-created] .el-statistic__number")).to_be_visible()
    row = page.locator(f"[data-test=callbacks-table] .el-table__row.cb-{task_id}")
    await expect(row).to_contain_text("待回拨")
    await expect(row).to_contain_text("漏接来电")
    assert number not in await row.inner_text()  # masked in lists
    await row.click()
    await expect(page.locator("[data-test=callback-number]")).to_have_text(number)  # whole in the detail
    await expect(page.locator("[data-test=callback-attempts]")).to_contain_text("尚未回拨")
    await page.locator("[data-test=callback-cancel]").click()
    dialog = page.locator(".el-dialog", has_text="取消回拨任务")
    await dialog.locator("[data-test=cancel-submit]").click()
    await expect(dialog).to_contain_text("请填写取消原因")  # Element Plus's form check, in Chinese
    await dialog.locator("[data-test=cancel-reason]").click()
    await page.locator(".el-select-dropdown__item:visible", has_text="号码无效").click()
    await dialog.locator("[data-test=cancel-submit]").click()
    await expect(page.get_by_text(f"回拨任务 {number} 已取消")).to_be_visible()
    await expect(page.locator("[data-test=callback-detail-state]")).to_have_text("已取消")
    await page.screenshot(path=str(artifacts / "callback-cancelled.png"))
    task = await api(stack, "GET", f"/callbacks/{task_id}")
    assert (task["status"], task["closed_reason"]) == ("cancelled", "号码无效")
    after = await api(stack, "GET", "/callbacks/figures?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z")
    assert after["cancelled"] == before["cancelled"] + 1
    await expect(page.locator("[data-test=fig-cancelled] .el-statistic__number")).to_have_text(
        str(await _figure_today(stack, "cancelled")))
    await expect(page.locator("[data-test=callback-cancel]")).to_have_count(0)  # closed: nothing more to cancel


async def _figure_today(stack: Stack, name: str) -> int:
    """The figure the page shows by default: the last seven Beijing days."""
    beijing = timezone(timedelta(hours=8))
    today = datetime.now(beijing).replace(hour=0, minute=0, second=0, microsecond=0)
    since = (today - timedelta(days=6)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (today + timedelta(days=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return int((await api(stack, "GET", f"/callbacks/figures?from={since}&to={until}"))[name])


async def test_click_to_dial_refusals_read_in_chinese_and_nothing_rings_and_a_tickets_recording_plays(
        daemon: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    stack = daemon
    if "5004" not in stack.agent_passwords:
        await stack.add_agent("5004", "坐席5004")
    await start_daemon(stack, tmp_path, [])
    agent_user = await user(stack, "agent", name="外呼员")
    await agent(stack, "5004", agent_user)
    category = (await api(stack, "GET", "/categories"))[0]["code"]
    calls_before = len(await stack.calls(limit=500))
    abroad = await api(stack, "POST", "/tickets", {"category": category, "content": "境外号码来电咨询。",
                                                   "phone": "00852123456"})
    rec_id, call_id = await store_recording(stack, seconds=2.0)
    local = await api(stack, "POST", "/tickets", {"category": category, "content": "请回电说明办理进度。",
                                                  "phone": citizen_number(), "channel": "phone", "call_id": call_id})
    task_number = citizen_number()
    task_id = await store_callback_task(stack, task_number)

    page = await pages.open("agent")
    await log_in(page, stack, agent_user, "agent")
    await page.locator(".el-menu").get_by_text("工单查询").click()

    async def open_ticket(number: str) -> None:
        await page.locator(".el-form-item", has_text="工单号").locator("input").fill(number)
        await page.get_by_role("button", name="查询").click()
        await page.locator(".el-table__row", has_text=number).get_by_text(number).click()
        await expect(page.locator(".el-drawer [data-test=ticket-phone]")).to_be_visible()

    await open_ticket(abroad["number"])
    await page.locator(".el-drawer [data-test=call]").click()
    refused = page.locator(".el-message.call-error")
    await expect(refused).to_contain_text("该号码不能外呼")
    await expect(refused).to_contain_text("该号码不在允许外呼的号段内")
    await page.screenshot(path=str(artifacts / "click-to-dial-refused.png"))
    await refused.locator(".el-message__closeBtn").click()
    await page.locator(".el-drawer__close-btn").click()

    # The ticket's call was recorded: the recording plays in the ticket's detail.
    await open_ticket(local["number"])
    recordings = page.locator(".el-drawer [data-test=recordings-table]")
    await expect(recordings.locator(".el-table__row")).to_have_count(1)
    async with page.expect_response(lambda r: f"/api/v1/console/recordings/{rec_id}/audio" in r.url) as played:
        await recordings.locator("[data-test=play-recording]").click()
    assert (await played.value).status in (200, 206)
    await expect(recordings.locator("audio[data-test=audio]")).to_be_visible()

    # A number that may be dialled, but the agent is not ready (not logged in, phone not registered): a 409.
    await page.locator(".el-drawer [data-test=call]").click()
    busy = page.locator(".el-message.call-error")
    await expect(busy).to_contain_text("坐席 5004 当前不能外呼")
    await busy.locator(".el-message__closeBtn").click()
    await page.locator(".el-drawer__close-btn").click()

    # The same from a callback task on the desk: the list masks the number, the detail dials it whole.
    await page.locator(".el-menu").get_by_text("接线台").click()
    await page.get_by_role("tab", name="回拨任务").click()
    row = page.locator(f"[data-test=callbacks-table] .el-table__row.cb-{task_id}")
    await expect(row).to_contain_text("待回拨")
    await row.click()
    await expect(page.locator("[data-test=callback-number]")).to_have_text(task_number)
    await expect(page.locator("[data-test=callback-cancel]")).to_have_count(0)  # an agent does not cancel
    async with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/agents/5004/originate")) as sent:
        await page.locator(".el-drawer [data-test=call]").click()
    # The call serves the task (an attempt on it): the task is sent, and the API dials the task's own number.
    assert (await sent.value).post_data_json == {"callback": task_id}
    await expect(page.locator(".el-message.call-error")).to_contain_text("当前不能外呼")
    task = await api(stack, "GET", f"/callbacks/{task_id}")
    assert task["status"] == "pending" and task["tries"] == []  # refused before anything rang: no attempt
    assert len(await stack.calls(limit=500)) == calls_before + 1  # the stored recording's call; nothing rang


async def test_an_agent_rung_for_a_callback_task_sees_which_attempt_and_the_citizen_is_called_back(
        daemon: Stack, tmp_path: Path, pages: Pages, artifacts: Path) -> None:
    """Real calls: the dialer on, the agent's SIPp phone and the citizen's behind the outbound trunk."""
    stack = daemon
    if "5005" not in stack.agent_passwords:
        await stack.add_agent("5005", "坐席5005")
    # Only this journey's task in line (other journeys leave theirs open: the dialer was off for them).
    await stack.cancel_open_callbacks()
    number = citizen_number()
    task_id = await store_callback_task(stack, number, due_in=0)  # before the start: the dialer books it at once
    stack.env["CALLCORE_CALLBACKS_DIAL"] = "true"
    try:
        await start_daemon(stack, tmp_path, ["5005"])
    finally:
        stack.env["CALLCORE_CALLBACKS_DIAL"] = "false"
    agent_user = await user(stack, "agent", name="回拨员")
    password = await agent(stack, "5005", agent_user)
    async with AgentPhone(stack.sip, "5005", password, workdir=tmp_path / "phone",
                          behaviour=Answer(after_seconds=2.0, talk_seconds=4)) as phone, \
            TrunkPhone(stack.trunk_port, workdir=tmp_path / "trunk", behaviour=Answer(after_seconds=0.5)) as citizens:
        await wait_contact(stack.cli, "5005")
        page = await pages.open("agent")
        await log_in(page, stack, agent_user, "agent")
        await expect(page.locator("[data-test=agent-status]")).to_have_text("未签入")
        await page.keyboard.press("F2")
        # The task is already due: the dialer may ring the agent the instant they are ready, so 就绪 can
        # last too briefly for the page to be seen showing it; what counts is that the desk left 未签入.
        await expect(page.locator("[data-test=agent-status]")).to_have_text(re.compile("就绪|振铃中|通话中"))
        # The dialer rings the agent for the task: the screen pop says it is a callback, and which try.
        await expect(page.locator("[data-test=pop-callback]")).to_contain_text("回拨任务：第1次", timeout=30_000)
        await expect(page.locator("[data-test=screen-pop]")).to_contain_text("回拨")
        await page.screenshot(path=str(artifacts / "callback-screen-pop.png"))
        await phone.wait_calls(1, timeout=30)
        [dialled] = await citizens.wait_calls(1, timeout=30)
        assert dialled.to_user == number

        async def reached() -> bool:
            return bool((await api(stack, "GET", f"/callbacks/{task_id}"))["status"] == "reached")

        await eventually(reached, "the task reached", timeout=30)
    task = await api(stack, "GET", f"/callbacks/{task_id}")
    assert [t["outcome"] for t in task["tries"]] == ["reached"] and task["tries"][0]["agent"] == "5005"
