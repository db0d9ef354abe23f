"""The workflow defects of issue 14, each reproduced: a shorter approved extension, urging a ticket
that is not overdue, weak input checks, archiving a ticket waiting for its callback, what redo does
to an approved extension, S-1 "received" counting tickets, a reply without the citizen's rating."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.core.errors import DomainError
from callcore.store.base import utcnow
from callcore.tickets.errors import BadTicketInput, IllegalTransition
from callcore.tickets.services import NewTicket, TicketService
from callcore.tickets.settings import TicketSettings
from callcore.tickets.stats import department_stats
from callcore.tickets.workflow import Step, TicketState, apply, check_invariants
from tests.tickets.api import TicketsApi
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, SUPERVISOR
from tests.tickets.test_workflow import step_strategy

D0 = date(2026, 3, 2)
DUE = date(2026, 3, 9)
PROCESSING = TicketState(status="processing", mode="transfer", department_id="dep-a", due_date=DUE, sign_by=D0,
                         return_by=D0)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _step(action: str, role: str = "dispatcher", today: date = D0, dept: str | None = None, **data: object) -> Step:
    return Step(action=action, role=role, actor_department_id=dept, today=today, data=dict(data))


def _pending(until: date = date(2026, 3, 31)) -> TicketState:
    return apply(PROCESSING, _step("request_extension", "handler", dept="dep-a", until=until.isoformat(),
                                   reason="需协调"))


def test_approve_a_shorter_extension() -> None:
    s = apply(_pending(), _step("approve_extension", "supervisor", until="2026-03-15"))
    assert (s.due_date, s.extension_until, s.approved_until, s.extension_count) == (
        date(2026, 3, 15), None, date(2026, 3, 15), 1)
    check_invariants(s)
    assert apply(_pending(), _step("approve_extension", "supervisor")).due_date == date(2026, 3, 31)
    with pytest.raises(BadTicketInput, match="晚于当前办理期限"):
        apply(_pending(), _step("approve_extension", "supervisor", until=DUE.isoformat()))
    with pytest.raises(BadTicketInput, match="不能晚于申请的日期"):
        apply(_pending(), _step("approve_extension", "supervisor", until="2026-04-01"))


def test_urging_needs_an_overdue_ticket() -> None:
    with pytest.raises(IllegalTransition, match="未超期"):
        apply(PROCESSING, _step("urge", today=DUE))
    assert apply(PROCESSING, _step("urge", today=DUE + timedelta(days=1))).urge_count == 1


def test_a_sampled_ticket_is_archived_only_once_rated_or_withdrawn() -> None:
    closed = replace(PROCESSING, status="closed", closed_on=D0, closed_on_time=True)
    sampled = apply(closed, _step("sample"))
    with pytest.raises(IllegalTransition, match="抽样回访"):
        apply(sampled, _step("archive"))
    rated = apply(sampled, _step("rate", rating="satisfied"))
    assert apply(rated, _step("archive")).status == "archived"
    with pytest.raises(BadTicketInput, match="reason"):
        apply(sampled, _step("withdraw_sample"))
    withdrawn = apply(sampled, _step("withdraw_sample", reason="市民拒绝回访"))
    assert withdrawn.visit == "withdrawn" and apply(withdrawn, _step("archive")).status == "archived"
    with pytest.raises(IllegalTransition):
        apply(withdrawn, _step("sample"))
    assert apply(closed, _step("archive")).status == "archived"  # never sampled


def test_redo_keeps_an_approved_extension_only_when_later() -> None:
    """The rule (workflow docstring): the redo's full limit, or the approved extension when it ends later."""
    extended = apply(_pending(date(2027, 1, 5)), _step("approve_extension", "supervisor"))
    replied = apply(extended, _step("reply", "handler", dept="dep-a", reply="已处理", satisfaction="unsatisfied"))
    redo = {"due_date": "2026-12-22", "due_from": "2026-12-01", "due_days": 15, "sign_by": "2026-12-02"}
    kept = apply(replied, _step("redo", **redo))
    assert (kept.due_date, kept.due_from, kept.approved_until) == (date(2027, 1, 5), None, date(2027, 1, 5))
    check_invariants(kept)
    later = apply(replied, _step("redo", **{**redo, "due_date": "2027-01-20"}))
    assert (later.due_date, later.due_days) == (date(2027, 1, 20), 15)
    # Without an approved extension the redo's deadline applies, whatever the old one was.
    plain = replace(PROCESSING, status="replied", satisfaction="unsatisfied", due_date=date(2027, 2, 1))
    assert apply(plain, _step("redo", **redo)).due_date == date(2026, 12, 22)
    # A return ends the department's handling: the next department gets no inherited extension.
    returned = apply(extended, _step("return", "handler", dept="dep-a", reason="错派"))
    assert returned.approved_until is None


def test_a_reply_does_not_need_the_citizens_satisfaction() -> None:
    s = apply(PROCESSING, _step("reply", "handler", dept="dep-a", reply="已处理"))
    assert s.status == "replied" and s.satisfaction is None


async def test_weak_input_is_refused_in_chinese(service: TicketService) -> None:
    strict = TicketService(service.db, TicketSettings())  # the default one-year window
    now = utcnow()
    with pytest.raises(BadTicketInput, match="诉求内容不能为空") as err:
        await strict.create(AGENT, NewTicket(category="help", content="  \t\n "))
    assert err.value.details[0]["field"] == "content"
    with pytest.raises(BadTicketInput, match="不能晚于当前时间"):
        await strict.create(AGENT, NewTicket(category="help", content="事项", received_at=now + timedelta(days=30)))
    with pytest.raises(BadTicketInput, match="不能早于366天前"):
        await strict.create(AGENT, NewTicket(category="help", content="事项", received_at=now - timedelta(days=400)))
    t, _ = await strict.create(AGENT, NewTicket(category="help", content="事项", received_at=now - timedelta(days=300)))
    assert t.status == "new"
    assert (await strict.create(AGENT, NewTicket(category="help", content="事项",
                                                 received_at=now + timedelta(seconds=60))))[0]


async def test_weak_input_over_the_api(api: TicketsApi) -> None:
    for body, field in (({"content": "   "}, "content"), ({"received_at": "2099-06-01T00:00:00Z"}, "received_at"),
                        ({"received_at": "1999-01-01T00:00:00Z"}, "received_at")):
        s, out = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "help", "content": "x", **body})
        assert s == 400 and out["details"][0]["field"] == field, out
        assert any("\u4e00" <= ch <= "\u9fff" for ch in out["details"][0]["message"])


async def test_urge_refused_before_the_deadline_and_not_counted(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="事项", received_at=T0))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    with pytest.raises(IllegalTransition, match="未超期"):
        await service.act(SUPERVISOR, t.id, "urge", now=T0)
    rows = {r.department_id: r for r in await department_stats(
        service.db, datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc), D0)}
    assert rows["dep-a"].urged == 0
    late = datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc)
    assert (await service.act(SUPERVISOR, t.id, "urge", now=late)).urge_count == 1


async def test_received_counts_tickets_not_dispatches(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="事项", received_at=T0))
    for _ in range(3):
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
        await service.act(HANDLER_A, t.id, "return", {"reason": "错派"}, now=T0)
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    await service.act(HANDLER_A, t.id, "sign", now=T0)
    await service.act(HANDLER_A, t.id, "reply", {"reply": "已处理", "satisfaction": "unsatisfied"}, now=T0)
    await service.act(DISPATCHER, t.id, "redo", now=T0)
    rows = {r.department_id: r for r in await department_stats(
        service.db, datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc), D0)}
    assert (rows["dep-a"].received, rows["dep-a"].returned, rows["dep-a"].redone) == (1, 3, 1)


async def test_approve_shorter_extension_through_the_service(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="事项", received_at=T0))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    await service.act(HANDLER_A, t.id, "sign", now=T0)
    await service.act(HANDLER_A, t.id, "request_extension", {"until": "2026-03-31", "reason": "需协调"}, now=T0)
    with pytest.raises(BadTicketInput, match="until"):
        await service.act(SUPERVISOR, t.id, "approve_extension", {"until": t.due_date.isoformat()}, now=T0)
    done = await service.act(SUPERVISOR, t.id, "approve_extension", {"until": "2026-03-16"}, now=T0)
    assert done.due_date == date(2026, 3, 16) and done.extension_until is None


@settings(max_examples=300, deadline=None)
@given(st.lists(step_strategy, max_size=40))
def test_no_urge_before_the_deadline_and_no_archive_while_awaiting_a_callback(steps: list[Step]) -> None:
    """Properties over random histories: an accepted urge always follows the deadline, an accepted archive
    never leaves a callback pending, and a paused ticket is never urged."""
    state = apply(None, Step(action="create", role="agent", today=D0, data={"due_date": DUE.isoformat()}))
    for s in steps:
        try:
            new = apply(state, s)
        except DomainError:
            continue
        if s.action == "urge":
            assert state.due_date is not None and s.today > state.due_date and state.status != "paused"
        if s.action == "archive":
            assert state.visit != "sampled"
        state = new
