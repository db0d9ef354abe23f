"""Corrections by the centre (issue 14): reclassify (the deadline recounted, as an event), correct the
address and the content (each an event with who and why); a department that returned a ticket reads it
but cannot act; a leader's instructions (领导批示); the first-responsible member of staff (首问负责制)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from callcore.core.identity import SYSTEM_PRINCIPAL
from callcore.tickets.errors import BadTicketInput, NotPermitted, TicketNotFound
from callcore.tickets.models import TicketDepartment
from callcore.tickets.services import NewTicket, TicketService, state_of, step_of
from callcore.tickets.workflow import replay
from tests.tickets.conftest import AGENT, DISPATCHER, HANDLER_A, HANDLER_B, LEADER, SUPERVISOR

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


async def _replays(service: TicketService, ref: str) -> None:
    view = await service.get(DISPATCHER, ref)
    assists = tuple(sorted(d.department_id for d in view.departments if d.role == "assist"))
    assert replay([step_of(e) for e in view.events]) == state_of(view.ticket, assists)


async def test_reclassify_recounts_the_deadline_as_an_event(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="有人非法排污", received_at=T0))
    assert t.due_date == date(2026, 3, 9)
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    with pytest.raises(BadTicketInput, match="reason"):
        await service.act(DISPATCHER, t.id, "reclassify", {"category": "report"}, now=T0)
    with pytest.raises(BadTicketInput, match="category"):
        await service.act(DISPATCHER, t.id, "reclassify", {"category": "nope", "reason": "x"}, now=T0)
    with pytest.raises(NotPermitted):
        await service.act(HANDLER_A, t.id, "reclassify", {"category": "report", "reason": "x"}, now=T0)
    t = await service.act(DISPATCHER, t.id, "reclassify", {"category": "report", "reason": "实为举报"}, now=T0)
    # 30 working days from 2 March 2026 (Qingming 4–6 April, Labour Day 1–5 May, make-up Sun 26 Apr / Sat 9 May).
    assert (t.category, t.due_date, t.due_days) == ("report", date(2026, 4, 14), 30)
    view = await service.get(DISPATCHER, t.id)
    e = view.events[-1]
    assert (e.action, e.actor_id, e.data["from_category"], e.data["category"], e.data["reason"]) == (
        "reclassify", DISPATCHER.user_id, "help", "report", "实为举报")
    assert [d.category for d in view.departments] == ["report"]
    await _replays(service, t.id)


async def test_reclassify_keeps_a_later_approved_extension(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="complaint", content="噪音", received_at=T0))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    await service.act(HANDLER_A, t.id, "sign", now=T0)
    await service.act(HANDLER_A, t.id, "request_extension", {"until": "2026-04-30", "reason": "协调"}, now=T0)
    await service.act(SUPERVISOR, t.id, "approve_extension", now=T0)
    t = await service.act(DISPATCHER, t.id, "reclassify", {"category": "help", "reason": "实为求助"}, now=T0)
    assert t.due_date == date(2026, 4, 30)


async def test_correct_address_and_content(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="路灯不亮", address="幸福路1号",
                                                 received_at=T0))
    with pytest.raises(BadTicketInput, match="field"):
        await service.act(DISPATCHER, t.id, "correct", {"field": "phone", "value": "1", "reason": "x"}, now=T0)
    with pytest.raises(BadTicketInput, match="value"):
        await service.act(DISPATCHER, t.id, "correct", {"field": "content", "value": "  ", "reason": "x"}, now=T0)
    with pytest.raises(NotPermitted):
        await service.act(AGENT, t.id, "correct", {"field": "address", "value": "x", "reason": "x"}, now=T0)
    t = await service.act(SUPERVISOR, t.id, "correct", {"field": "address", "value": "幸福路11号", "reason": "门牌记错"},
                          now=T0)
    t = await service.act(SUPERVISOR, t.id, "correct", {"field": "content", "value": "幸福路11号路灯不亮",
                                                          "reason": "补充地点"}, now=T0)
    assert (t.address, t.content) == ("幸福路11号", "幸福路11号路灯不亮")
    view = await service.get(DISPATCHER, t.id)
    old = [(e.data["field"], e.data["old"], e.data["value"], e.actor_id) for e in view.events if e.action == "correct"]
    assert old == [("address", "幸福路1号", "幸福路11号", SUPERVISOR.user_id),
                   ("content", "路灯不亮", "幸福路11号路灯不亮", SUPERVISOR.user_id)]
    await _replays(service, t.id)


async def test_a_returned_ticket_stays_readable_by_its_department(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="错派", received_at=T0))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    await service.act(HANDLER_A, t.id, "return", {"reason": "非本单位职责"}, now=T0)
    view = await service.get(HANDLER_A, t.id)
    assert view.ticket.status == "returned" and [e.action for e in view.events][-1] == "return"
    with pytest.raises(NotPermitted, match="只能查看"):
        await service.act(HANDLER_A, t.id, "note", note="补充说明", now=T0)
    with pytest.raises(TicketNotFound):
        await service.get(HANDLER_B, t.id)
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-b"}, now=T0)
    assert (await service.get(HANDLER_A, t.id)).ticket.department_id == "dep-b"
    assert (await service.act(HANDLER_B, t.id, "sign", now=T0)).status == "processing"
    async with service.db.session() as s:
        assert await s.get(TicketDepartment, (t.id, "dep-a")) is None  # no longer in its inbox


async def test_leaders_instructions_and_the_first_responsible(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="事项", received_at=T0))
    assert (t.first_responsible_id, t.first_responsible_name) == (AGENT.user_id, AGENT.name)
    with pytest.raises(BadTicketInput, match="instructions"):
        await service.act(LEADER, t.id, "instruct", {}, now=T0)
    with pytest.raises(NotPermitted):
        await service.act(DISPATCHER, t.id, "instruct", {"instructions": "x"}, now=T0)
    t = await service.act(LEADER, t.id, "instruct", {"instructions": "请相关单位三日内办结"}, now=T0)
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    view = await service.get(HANDLER_A, t.id)
    e = next(e for e in view.events if e.action == "instruct")
    assert (e.role, e.actor_name, e.data["instructions"]) == ("leader", LEADER.name, "请相关单位三日内办结")
    assert view.ticket.first_responsible_id == AGENT.user_id  # the later steps do not change it
    await _replays(service, t.id)


async def test_a_system_ticket_gets_its_first_responsible_from_the_first_person(service: TicketService) -> None:
    t, _ = await service.create(SYSTEM_PRINCIPAL, NewTicket(category="help", content="网上来件", channel="web",
                                                            received_at=T0))
    assert t.first_responsible_id is None
    t = await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"}, now=T0)
    assert (t.first_responsible_id, t.first_responsible_name) == (DISPATCHER.user_id, DISPATCHER.name)


async def test_search_finds_the_corrected_text(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="路灯不亮", received_at=T0))
    await service.act(DISPATCHER, t.id, "correct", {"field": "content", "value": "井盖丢失", "reason": "记错事项"},
                      now=T0)
    # Through the search itself: PostgreSQL keeps only the tsvector (TicketSearch.terms stays empty there).
    from callcore.tickets import queries

    dl, today = await service.deadlines(), T0.date()
    found = [(await queries.page(service.db, DISPATCHER, queries.TicketFilter(text=word), dl, today))[0]
             for word in ("井盖", "路灯")]
    assert [[x.id for x in rows] for rows in found] == [[t.id], []]
