"""Issue 15: who may do what, over every workflow action and every role (A-1, A-2, W-1..W-15).

The expected matrix is written here from the spec, not read from the code:

* the call centre's staff (agent, dispatcher, supervisor, admin) take tickets in: create (W-1), answer
  on the spot, refuse, dispatch (W-3: "intake decides"), merge and link duplicates (W-4: "the agent can
  merge or link"), take a citizen's request for review (W-14) and record a callback's rating (W-12:
  staff call back);
* the centre's decisions over a department's work are the ticket managers' (dispatcher, supervisor,
  admin; an agent answers calls and creates tickets, A-1): close a reply after checking it (W-11, "the
  ticket returns to the center"), redo (W-13), approve or refuse an extension (W-9, "the center
  approves"), urge (W-10), sample for a callback (W-12), archive (W-15);
* the supervision group (supervisor, admin) supervises (W-10: "escalates to the supervision group");
* the department's steps (sign, return, reply, ask for an extension, explain a delay: W-6, W-9, W-10,
  W-11) are the lead department's handler's, never another department's handler's and never the
  centre's while a department holds the ticket; when the centre handles a ticket itself (自办, W-5) its
  staff take those steps;
* a handler notes the tickets they work; a leader reads statistics and tickets and writes nothing (A-1);
* the daemon's own jobs act where the spec says "automatically": urges (W-10), sampling at the
  configured rate and the keypad survey call's rating (W-12), tickets from channels without a call
  (W-1: web, SMS, mail) and its notes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from callcore.core.identity import Principal
from callcore.tickets.access import may_reveal
from callcore.tickets.errors import NotPermitted
from callcore.tickets.workflow import ACTIONS, Step, TicketState, apply

D0 = date(2026, 3, 2)
DUE = date(2026, 3, 9)
LEAD, OTHER = "dep-a", "dep-b"

WHO = {
    "agent": ("agent", None), "dispatcher": ("dispatcher", None), "supervisor": ("supervisor", None),
    "admin": ("admin", None), "leader": ("leader", None), "lead_handler": ("handler", LEAD),
    "other_handler": ("handler", OTHER), "system": ("system", None),
}
STAFF = {"agent", "dispatcher", "supervisor", "admin"}
MANAGERS = {"dispatcher", "supervisor", "admin"}
SUPERVISION = {"supervisor", "admin"}
LEAD_ONLY = {"lead_handler"}

EXPECTED: dict[str, set[str]] = {
    "create": STAFF | {"system"},
    "answer": STAFF,
    "reject": STAFF,
    "dispatch": STAFF,
    "merge": STAFF,
    "link": STAFF,
    "review": STAFF,
    "rate": STAFF | {"system"},
    "close": MANAGERS,
    "redo": MANAGERS,
    "approve_extension": MANAGERS,
    "refuse_extension": MANAGERS,
    "urge": MANAGERS | {"system"},
    "sample": MANAGERS | {"system"},
    "archive": MANAGERS,
    "supervise": SUPERVISION,
    "sign": LEAD_ONLY,
    "return": LEAD_ONLY,
    "reply": LEAD_ONLY,
    "request_extension": LEAD_ONLY,
    "explain": LEAD_ONLY,
    "note": STAFF | {"lead_handler", "system"},
}

BASE = TicketState(due_date=DUE)
WITH_LEAD = replace(BASE, status="processing", mode="transfer", department_id=LEAD, sign_by=D0, return_by=D0)
CLOSED = replace(WITH_LEAD, status="closed", satisfaction="unsatisfied", closed_on=D0, closed_on_time=True)
# A state where each action is allowed by status, with the data it needs: only the role decides.
CASES: dict[str, tuple[TicketState | None, dict[str, Any]]] = {
    "create": (None, {"due_date": DUE.isoformat()}),
    "answer": (BASE, {"reply": "政策如下"}),
    "reject": (BASE, {"reason": "out_of_jurisdiction"}),
    "dispatch": (BASE, {"mode": "transfer", "department_id": LEAD, "sign_by": "2026-03-03", "return_by": "2026-03-04"}),
    "merge": (BASE, {"other_id": "t-2"}),
    "link": (BASE, {"other_id": "t-2"}),
    "review": (CLOSED, {"reason": "市民申请复核", "due_date": "2026-03-16"}),
    "rate": (replace(CLOSED, visit="sampled"), {"rating": "satisfied"}),
    "close": (replace(WITH_LEAD, status="replied", satisfaction="satisfied"), {}),
    "redo": (CLOSED, {"due_date": "2026-03-16", "sign_by": "2026-03-03"}),
    "approve_extension": (replace(WITH_LEAD, extension_until=date(2026, 3, 20)), {}),
    "refuse_extension": (replace(WITH_LEAD, extension_until=date(2026, 3, 20)), {}),
    "urge": (replace(WITH_LEAD, due_date=date(2026, 2, 27)), {"number": 1}),  # W-10: an overdue ticket
    "sample": (CLOSED, {}),
    "archive": (CLOSED, {}),
    "supervise": (WITH_LEAD, {}),
    "sign": (replace(WITH_LEAD, status="dispatched"), {}),
    "return": (WITH_LEAD, {"reason": "非本单位职责"}),
    "reply": (WITH_LEAD, {"reply": "已处理", "satisfaction": "satisfied"}),
    "request_extension": (WITH_LEAD, {"until": "2026-03-20", "reason": "需协调"}),
    "explain": (WITH_LEAD, {"note": "等待审批"}),
    "note": (WITH_LEAD, {"note": "备注"}),
}


def test_the_matrix_covers_every_action_of_the_spec() -> None:
    """Every W- action is a workflow action. (Actions added later, such as pausing the clock, get their row
    here when their rules are settled.)"""
    assert set(EXPECTED) == set(CASES) and set(EXPECTED) <= set(ACTIONS)


# Whether another department's handler may note a ticket is not the workflow's question: A-1 hides the
# ticket from them (tests/tickets/test_http_access.py), and an assisting department (协办) does note it.
PAIRS = [(action, who) for action in EXPECTED for who in WHO if (action, who) != ("note", "other_handler")]


@pytest.mark.parametrize(("action", "who"), PAIRS)
def test_who_may_do_what(action: str, who: str) -> None:
    state, data = CASES[action]
    role, dept = WHO[who]
    step = Step(action=action, role=role, actor_department_id=dept, today=D0, data=data)
    if who in EXPECTED[action]:
        apply(state, step)
    else:
        with pytest.raises(NotPermitted) as err:
            apply(state, step)
        assert err.value.error_id == "not_permitted" and err.value.status == 403


SELF_HANDLED = replace(BASE, status="processing", mode="self")
DEPARTMENT_STEPS: dict[str, tuple[TicketState, dict[str, Any]]] = {
    "reply": (SELF_HANDLED, {"reply": "已处理", "satisfaction": "satisfied"}),
    "request_extension": (SELF_HANDLED, {"until": "2026-03-20", "reason": "需协调"}),
    "explain": (SELF_HANDLED, {"note": "等待审批"}),
}


@pytest.mark.parametrize("who", list(WHO))
@pytest.mark.parametrize("action", list(DEPARTMENT_STEPS))
def test_the_centre_takes_the_department_steps_of_a_ticket_it_handles_itself(action: str, who: str) -> None:
    """W-5 自办: no department holds the ticket, so the centre's staff reply, ask for time, explain."""
    state, data = DEPARTMENT_STEPS[action]
    role, dept = WHO[who]
    step = Step(action=action, role=role, actor_department_id=dept, today=D0, data=data)
    if who in STAFF:
        apply(state, step)
    else:
        with pytest.raises(NotPermitted):
            apply(state, step)


# whole personal values only to the roles that need them; each such view is audited elsewhere.
REVEAL = {
    # Handlers call citizens back about their department's tickets (W-12 is the centre's, but a handler
    # clarifies the case with the citizen), so they see the phone; an ID number only the centre checks.
    "phone": {"agent", "dispatcher", "supervisor", "admin", "handler"},
    "id_card": {"agent", "dispatcher", "supervisor", "admin"},
}


@pytest.mark.parametrize("role", ["agent", "dispatcher", "supervisor", "admin", "handler", "leader", "system"])
@pytest.mark.parametrize("field", ["phone", "id_card", "address", "caller_name"])
def test_who_sees_a_whole_personal_value(field: str, role: str) -> None:
    who = Principal(user_id="u", name="某人", role=role, department_id=LEAD if role == "handler" else None)
    assert may_reveal(who, field) is (role in REVEAL.get(field, set()))
