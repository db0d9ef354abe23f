"""Storing a rating (T-14, W-12): the row, the step on the linked tickets through the ticket
service (a note, or the workflow's rate for a sampled ticket a survey call was about), reading back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from callcore.store.db import Database
from callcore.surveys.models import SurveyRating
from callcore.surveys.services import SurveyFilter, SurveyService, note_text
from callcore.surveys.types import SurveySubject
from callcore.tickets.services import NewTicket, TicketService
from tests.surveys.helpers import AGENT, SUPERVISOR, T0, add_call

INBOUND = SurveySubject(kind="inbound", agent="6001", queue="general")


@pytest.fixture
def tickets(db: Database) -> TicketService:
    return TicketService(db)


@pytest.fixture
async def service(db: Database, tickets: TicketService) -> AsyncIterator[SurveyService]:
    yield SurveyService(db, tickets=tickets)


async def test_an_inbound_rating_is_stored_and_noted_on_the_calls_ticket(db: Database, tickets: TicketService,
                                                                        service: SurveyService) -> None:
    await add_call(db, "c1")
    ticket, _ = await tickets.create(AGENT, NewTicket(category="help", content="路灯不亮", call_id="c1",
                                                      phone="13960001111"))
    row = await service.record("c1", INBOUND, 2, at=T0)
    assert row is not None
    async with db.session() as s:
        [stored] = (await s.scalars(select(SurveyRating))).all()
    assert (stored.call_id, stored.ticket_id, stored.agent, stored.queue, stored.rating, stored.kind) == \
        ("c1", ticket.id, "6001", "general", 2, "inbound")
    view = await tickets.get(AGENT, ticket.id)
    assert [e.action for e in view.events] == ["create", "note"]
    note = view.events[-1]
    assert note.note == note_text(2, "inbound") == "来电满意度调查：满意（按键2）"
    assert (note.data["rating"], note.data["satisfaction"], note.data["call_id"]) == (2, "satisfied", "c1")
    # An inbound survey rates the call (the agent), not the department's result: satisfaction is untouched.
    assert view.ticket.satisfaction is None and view.ticket.status == "new"


async def test_a_call_without_a_ticket_is_stored_alone_and_rated_once(db: Database, service: SurveyService) -> None:
    await add_call(db, "c2")
    assert await service.record("c2", INBOUND, 4) is not None
    assert await service.record("c2", INBOUND, 1) is None  # the first rating stands
    rows, total = await service.page(SurveyFilter(call_id="c2"))
    assert total == 1 and rows[0].row.rating == 4 and rows[0].row.ticket_id is None


async def test_an_outbound_survey_call_rates_its_sampled_ticket(db: Database, tickets: TicketService) -> None:
    ticket, _ = await tickets.create(AGENT, NewTicket(category="help", content="噪音扰民"))
    await tickets.act(AGENT, ticket.id, "answer", {"reply": "已处理"})
    await tickets.act(SUPERVISOR, ticket.id, "sample")
    await add_call(db, "out-1", agent=None)
    # Rated by a person who placed the survey call (click-to-dial): the workflow's rate action.
    service = SurveyService(db, tickets=tickets, actor=SUPERVISOR)
    row = await service.record("out-1", SurveySubject(kind="outbound", ticket_id=ticket.id), 3)
    assert row is not None and row.ticket_id == ticket.id and row.kind == "outbound"
    view = await tickets.get(AGENT, ticket.id)
    assert (view.ticket.satisfaction, view.ticket.visit) == ("basically_satisfied", "done")
    assert view.events[-1].action == "rate" and view.events[-1].note == "回访满意度调查：基本满意（按键3）"


async def test_a_rating_the_workflow_refuses_is_noted_instead(db: Database, tickets: TicketService,
                                                             service: SurveyService) -> None:
    # Not sampled (and the survey's own principal may not rate): the rating is kept as a note.
    ticket, _ = await tickets.create(AGENT, NewTicket(category="help", content="井盖缺失"))
    await add_call(db, "out-2", agent=None)
    assert await service.record("out-2", SurveySubject(kind="outbound", ticket_id=ticket.id), 1) is not None
    view = await tickets.get(AGENT, ticket.id)
    assert view.events[-1].action == "note" and view.ticket.satisfaction is None


async def test_a_ticket_linked_after_the_rating_finds_it_through_the_call(db: Database, tickets: TicketService,
                                                                         service: SurveyService) -> None:
    await add_call(db, "c3", caller="13960002222")
    await add_call(db, "c4", caller="13960003333", agent="6002")
    await service.record("c3", INBOUND, 1, at=T0)
    await service.record("c4", SurveySubject(kind="inbound", agent="6002", queue="complaint"), 3, at=T0)
    ticket, _ = await tickets.create(AGENT, NewTicket(category="help", content="补录", call_id="c3"))
    rows, total = await service.page(SurveyFilter(ticket_id=ticket.id))
    assert total == 1 and rows[0].row.call_id == "c3" and rows[0].caller_number == "13960002222"
    assert (await service.page(SurveyFilter(agent="6002")))[1] == 1
    assert (await service.page(SurveyFilter(queue="general")))[1] == 1
    assert (await service.page(SurveyFilter(kind="outbound")))[1] == 0
    assert (await service.page(SurveyFilter(limit=1)))[1] == 2


async def test_out_of_scale_ratings_are_refused(service: SurveyService) -> None:
    with pytest.raises(ValueError):
        await service.record("c9", INBOUND, 5)
