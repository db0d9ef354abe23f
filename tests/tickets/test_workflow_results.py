"""Issue 15: what each workflow step leaves behind, field by field, and what each refusal says.

The transition table (test_workflow.py) says which steps are allowed; these say what an allowed step
changes (the whole state compared, so a field a step forgets to reset shows) and, for a refused one,
the error a client gets: its class, the field or the state and action it names (the API's ``details``),
and the text. The invariants the property tests rely on are checked to fire on broken states.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from callcore.core.errors import DomainError
from callcore.tickets.errors import BadTicketInput, IllegalTransition, NotPermitted
from callcore.tickets.workflow import Step, TicketState, apply, check_invariants, replay

D0 = date(2026, 3, 2)
DUE = date(2026, 3, 9)
LATER = date(2026, 3, 20)
LEAD = "dep-a"

NEW = TicketState(due_date=DUE)
DISPATCHED = replace(NEW, status="dispatched", mode="cohandle", department_id=LEAD, assist_ids=("dep-b",),
                     sign_by=D0, return_by=date(2026, 3, 4))
PROCESSING = replace(DISPATCHED, status="processing")
SELF = replace(NEW, status="processing", mode="self")
REPLIED = replace(PROCESSING, status="replied", reply="已处理", satisfaction="unsatisfied")
CLOSED = replace(REPLIED, status="closed", closed_on=D0, closed_on_time=True)
CLOSED_SELF = replace(SELF, status="closed", reply="已处理", satisfaction="unsatisfied", closed_on=D0,
                      closed_on_time=True)


def step(action: str, role: str = "dispatcher", today: date = D0, dept: str | None = None, **data: Any) -> Step:
    return Step(action=action, role=role, actor_department_id=dept, today=today, data=data)


def lead(action: str, today: date = D0, **data: Any) -> Step:
    return step(action, "handler", today, LEAD, **data)


RESULTS: list[tuple[str, TicketState, Step, TicketState]] = [
    ("create", NEW, step("create", "agent", due_date=DUE.isoformat()), NEW),
    ("answer", NEW, step("answer", "agent", reply=" 按政策办理 ", satisfaction="satisfied"),
     replace(NEW, status="closed", reply="按政策办理", closed_on=D0, closed_on_time=True, satisfaction="satisfied")),
    ("answer after a return", replace(NEW, status="returned", return_count=1),
     step("answer", "agent", reply="已答复"),
     replace(NEW, status="closed", reply="已答复", closed_on=D0, closed_on_time=True, return_count=1)),
    ("reject", NEW, step("reject", "agent", reason="in_litigation"),
     replace(NEW, status="rejected", reject_reason="in_litigation")),
    ("dispatch, co-handled", NEW,
     step("dispatch", mode="cohandle", department_id=LEAD, assist_ids=["dep-b", "dep-c"], sign_by="2026-03-03",
          return_by="2026-03-04"),
     replace(NEW, status="dispatched", mode="cohandle", department_id=LEAD, assist_ids=("dep-b", "dep-c"),
             sign_by=date(2026, 3, 3), return_by=date(2026, 3, 4))),
    ("dispatch, assigned", NEW,
     step("dispatch", mode="assign", department_id=LEAD, instructions="三日内现场核查", sign_by="2026-03-03",
          return_by="2026-03-04"),
     replace(NEW, status="dispatched", mode="assign", department_id=LEAD, sign_by=date(2026, 3, 3),
             return_by=date(2026, 3, 4))),
    ("dispatch, supervised", NEW,
     step("dispatch", mode="supervise", department_id=LEAD, sign_by="2026-03-03", return_by="2026-03-04"),
     replace(NEW, status="dispatched", mode="supervise", department_id=LEAD, sign_by=date(2026, 3, 3),
             return_by=date(2026, 3, 4), supervised=True)),
    ("dispatch, self-handled keeps supervision", replace(NEW, status="review", supervised=True, sign_by=D0,
                                                         return_by=D0),
     step("dispatch", mode="self"), replace(NEW, status="processing", mode="self", supervised=True)),
    ("sign", DISPATCHED, lead("sign"), PROCESSING),
    ("return", replace(PROCESSING, extension_until=LATER), lead("return", reason="非本单位职责"),
     replace(NEW, status="returned", return_count=1)),
    ("reply", replace(PROCESSING, extension_until=LATER), lead("reply", reply=" 已处理 ", satisfaction="satisfied"),
     replace(PROCESSING, status="replied", reply="已处理", satisfaction="satisfied")),
    ("reply without the citizen's satisfaction", PROCESSING, lead("reply", reply="已处理"),
     replace(PROCESSING, status="replied", reply="已处理")),
    ("close late", REPLIED, step("close", today=date(2026, 3, 10)),
     replace(REPLIED, status="closed", closed_on=date(2026, 3, 10), closed_on_time=False)),
    ("redo by the department", replace(CLOSED, visit="done", explained_for=DUE),
     step("redo", due_date="2026-03-16", sign_by="2026-03-03"),
     replace(PROCESSING, status="dispatched", due_date=date(2026, 3, 16), sign_by=date(2026, 3, 3), return_by=None,
             redo_count=1)),
    ("redo by the centre itself", CLOSED_SELF, step("redo", due_date="2026-03-16"),
     replace(SELF, due_date=date(2026, 3, 16), redo_count=1)),
    ("review", replace(CLOSED, visit="done"), step("review", "agent", reason="市民申请复核", due_date="2026-03-16"),
     replace(NEW, status="review", due_date=date(2026, 3, 16), sign_by=D0, return_by=date(2026, 3, 4),
             reply="已处理", satisfaction="unsatisfied")),
    ("request an extension", PROCESSING, lead("request_extension", until=LATER.isoformat(), reason="需协调"),
     replace(PROCESSING, extension_until=LATER)),
    ("refuse an extension", replace(PROCESSING, extension_until=LATER), step("refuse_extension"), PROCESSING),
    ("urge an overdue ticket", PROCESSING, step("urge", "system", today=date(2026, 3, 10)),
     replace(PROCESSING, urge_count=1)),
    ("urge and escalate", replace(PROCESSING, urge_count=2), step("urge", "system", today=date(2026, 3, 10), escalate=True),
     replace(PROCESSING, urge_count=3, supervised=True)),
    ("urge keeps supervision", replace(PROCESSING, supervised=True), step("urge", today=date(2026, 3, 10)),
     replace(PROCESSING, urge_count=1, supervised=True)),
    ("explain", PROCESSING, lead("explain", note="等待审批"), replace(PROCESSING, explained_for=DUE)),
    ("supervise", PROCESSING, step("supervise", "supervisor"), replace(PROCESSING, supervised=True)),
    ("note", PROCESSING, step("note", "agent", note="市民来电催问"), PROCESSING),
    ("sample", CLOSED, step("sample", "system"), replace(CLOSED, visit="sampled")),
    ("rate", replace(CLOSED, visit="sampled"), step("rate", "agent", rating="basically_satisfied"),
     replace(CLOSED, visit="done", satisfaction="basically_satisfied")),
    ("link", NEW, step("link", "agent", other_id="t-2"), NEW),
    ("merge", NEW, step("merge", "agent", other_id=" t-2 "), replace(NEW, status="merged", merged_into="t-2")),
    ("archive", replace(NEW, status="rejected", reject_reason="unlawful"), step("archive"),
     replace(NEW, status="archived", reject_reason="unlawful")),
]


@pytest.mark.parametrize(("name", "before", "request_", "after"), RESULTS, ids=[r[0] for r in RESULTS])
def test_what_a_step_leaves(name: str, before: TicketState, request_: Step, after: TicketState) -> None:
    got = apply(None if request_.action == "create" else before, request_)
    assert got == after
    check_invariants(got)


REFUSALS: list[tuple[str, TicketState | None, Step, type[DomainError], Any, str]] = [
    ("no create first", None, step("sign"), IllegalTransition, {"status": "none", "action": "sign"},
     "action 'sign' is not allowed on a ticket in state 'none': a ticket starts with create"),
    ("create twice", NEW, step("create", "agent", due_date=DUE.isoformat()), IllegalTransition,
     {"status": "new", "action": "create"}, "action 'create' is not allowed on a ticket in state 'new': the ticket exists"),
    ("archived", replace(NEW, status="archived"), step("note", "agent", note="x"), IllegalTransition,
     {"status": "archived", "action": "note"},
     "action 'note' is not allowed on a ticket in state 'archived': archived tickets are read-only"),
    ("create without a date", None, step("create", "agent", due_date="soon"), BadTicketInput,
     [{"field": "due_date", "in": "body", "message": "create needs a date (YYYY-MM-DD)"}], ""),
    ("answer without a reply", NEW, step("answer", "agent", reply="  "), BadTicketInput,
     [{"field": "reply", "in": "body", "message": "answer needs a non-empty reply"}], ""),
    ("answer, bad satisfaction", NEW, step("answer", "agent", reply="好", satisfaction="happy"), BadTicketInput,
     [{"field": "satisfaction", "in": "body",
       "message": "must be one of satisfied, basically_satisfied, unsatisfied, unknown"}], ""),
    ("reject, bad reason", NEW, step("reject", "agent"), BadTicketInput,
     [{"field": "reason", "in": "body", "message": "must be one of unlawful, out_of_jurisdiction, in_litigation, "
                                                   "department_not_in_system, emergency_referred"}], ""),
    ("dispatch without a mode", NEW, step("dispatch"), BadTicketInput,
     [{"field": "mode", "in": "body", "message": "must be one of self, transfer, assign, cohandle, supervise"}], ""),
    ("dispatch without a department", NEW, step("dispatch", mode="transfer"), BadTicketInput,
     [{"field": "department_id", "in": "body", "message": "mode transfer needs a department"}], ""),
    ("the lead assists itself", NEW, step("dispatch", mode="cohandle", department_id=LEAD, assist_ids=[LEAD]),
     BadTicketInput,
     [{"field": "assist_ids", "in": "body", "message": "assisting departments must differ from the lead and each other"}],
     ""),
    ("an assisting department twice", NEW,
     step("dispatch", mode="cohandle", department_id=LEAD, assist_ids=["dep-b", "dep-b"]), BadTicketInput,
     [{"field": "assist_ids", "in": "body", "message": "assisting departments must differ from the lead and each other"}],
     ""),
    ("co-handling alone", NEW, step("dispatch", mode="cohandle", department_id=LEAD), BadTicketInput,
     [{"field": "assist_ids", "in": "body", "message": "co-handling (协办) needs at least one assisting department"}], ""),
    ("assisting a transfer", NEW, step("dispatch", mode="transfer", department_id=LEAD, assist_ids=["dep-b"]),
     BadTicketInput,
     [{"field": "assist_ids", "in": "body", "message": "only co-handling (协办) has assisting departments"}], ""),
    ("assigning without instructions", NEW, step("dispatch", mode="assign", department_id=LEAD, instructions=" "),
     BadTicketInput, [{"field": "instructions", "in": "body", "message": "assigning (交办) needs instructions"}], ""),
    ("dispatch without dates", NEW, step("dispatch", mode="transfer", department_id=LEAD), BadTicketInput,
     [{"field": "sign_by", "in": "body", "message": "dispatch needs a date (YYYY-MM-DD)"}], ""),
    ("dispatch without a return period", NEW, step("dispatch", mode="transfer", department_id=LEAD, sign_by="2026-03-03"),
     BadTicketInput, [{"field": "return_by", "in": "body", "message": "dispatch needs a date (YYYY-MM-DD)"}], ""),
    ("a return after the period", PROCESSING, lead("return", date(2026, 3, 5), reason="x"), IllegalTransition,
     {"status": "processing", "action": "return"},
     "action 'return' is not allowed on a ticket in state 'processing': the return period ended on 2026-03-04"),
    ("redo with a bad signing day", CLOSED, step("redo", due_date="2026-03-16", sign_by="tomorrow"), BadTicketInput,
     [{"field": "sign_by", "in": "body", "message": "sign_by needs a date (YYYY-MM-DD)"}], ""),
    ("an extension until the deadline", PROCESSING, lead("request_extension", until=DUE.isoformat(), reason="x"),
     BadTicketInput, [{"field": "until", "in": "body", "message": "must be after the current deadline 2026-03-09"}], ""),
    ("a self-handled ticket returned", SELF, lead("return", reason="x"), IllegalTransition,
     {"status": "processing", "action": "return"},
     "action 'return' is not allowed on a ticket in state 'processing': the center handles this ticket itself"),
    ("return without a reason", PROCESSING, lead("return"), BadTicketInput,
     [{"field": "reason", "in": "body", "message": "return needs a non-empty reason"}], ""),
    ("redo when satisfied", replace(CLOSED, satisfaction="satisfied"), step("redo", due_date="2026-03-16"),
     IllegalTransition, {"status": "closed", "action": "redo"},
     "action 'redo' is not allowed on a ticket in state 'closed': only an unsatisfied citizen's ticket is redone"),
    ("redo of an answered ticket", replace(CLOSED_SELF, mode=None), step("redo", due_date="2026-03-16"),
     IllegalTransition, {"status": "closed", "action": "redo"},
     "action 'redo' is not allowed on a ticket in state 'closed': no department handled this ticket"),
    ("review without a reason", CLOSED, step("review", "agent", due_date="2026-03-16"), BadTicketInput,
     [{"field": "reason", "in": "body", "message": "review needs a non-empty reason"}], ""),
    ("a second extension request", replace(PROCESSING, extension_until=LATER),
     lead("request_extension", until="2026-03-21", reason="x"), IllegalTransition,
     {"status": "processing", "action": "request_extension"},
     "action 'request_extension' is not allowed on a ticket in state 'processing': an extension request is already "
     "pending"),
    ("an extension too late", PROCESSING, lead("request_extension", date(2026, 3, 10), until="2026-03-21", reason="x"),
     IllegalTransition, {"status": "processing", "action": "request_extension"},
     "action 'request_extension' is not allowed on a ticket in state 'processing': too late: the deadline was 2026-03-09"),
    ("an extension without a date", PROCESSING, lead("request_extension", reason="x"), BadTicketInput,
     [{"field": "until", "in": "body", "message": "request_extension needs a date (YYYY-MM-DD)"}], ""),
    ("an extension without a reason", PROCESSING, lead("request_extension", until="2026-03-21"), BadTicketInput,
     [{"field": "reason", "in": "body", "message": "request_extension needs a non-empty reason"}], ""),
    ("nothing to approve", PROCESSING, step("approve_extension"), IllegalTransition,
     {"status": "processing", "action": "approve_extension"},
     "action 'approve_extension' is not allowed on a ticket in state 'processing': no extension request is pending"),
    ("explain without a note", PROCESSING, lead("explain"), BadTicketInput,
     [{"field": "note", "in": "body", "message": "explain needs a non-empty note"}], ""),
    ("an empty note", PROCESSING, step("note", "agent"), BadTicketInput,
     [{"field": "note", "in": "body", "message": "note needs a non-empty note"}], ""),
    ("sampled twice", replace(CLOSED, visit="sampled"), step("sample"), IllegalTransition,
     {"status": "closed", "action": "sample"},
     "action 'sample' is not allowed on a ticket in state 'closed': the callback is already sampled"),
    ("rated without a sample", CLOSED, step("rate", "agent", rating="satisfied"), IllegalTransition,
     {"status": "closed", "action": "rate"},
     "action 'rate' is not allowed on a ticket in state 'closed': the ticket was not sampled for a callback"),
    ("rated unknown", replace(CLOSED, visit="sampled"), step("rate", "agent", rating="unknown"), BadTicketInput,
     [{"field": "rating", "in": "body", "message": "must be satisfied, basically_satisfied or unsatisfied"}], ""),
    ("rated nothing", replace(CLOSED, visit="sampled"), step("rate", "agent"), BadTicketInput,
     [{"field": "rating", "in": "body", "message": "must be satisfied, basically_satisfied or unsatisfied"}], ""),
    ("link to nothing", NEW, step("link", "agent"), BadTicketInput,
     [{"field": "other_id", "in": "body", "message": "link needs a non-empty other_id"}], ""),
    ("merge into nothing", NEW, step("merge", "agent", other_id=""), BadTicketInput,
     [{"field": "other_id", "in": "body", "message": "merge needs a non-empty other_id"}], ""),
]


@pytest.mark.parametrize(("name", "before", "request_", "error", "details", "message"), REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_what_a_refusal_says(name: str, before: TicketState | None, request_: Step, error: type[DomainError],
                             details: Any, message: str) -> None:
    with pytest.raises(error) as err:
        apply(before, request_)
    assert err.value.details == details
    if message:
        assert err.value.message == message
    else:
        assert err.value.message == f"{details[0]['field']}: {details[0]['message']}"


def test_an_unknown_action_lists_the_known_ones() -> None:
    with pytest.raises(BadTicketInput) as err:
        apply(NEW, step("teleport"))
    [detail] = err.value.details
    assert detail["field"] == "action" and detail["message"].startswith("unknown action 'teleport'; one of answer, ")
    assert "create" not in detail["message"]


@pytest.mark.parametrize("who,dept,message", [
    ("leader", None, "role 'leader' may not close a ticket"),
    ("agent", None, "role 'agent' may not close a ticket"),
])
def test_a_refused_role_is_named(who: str, dept: str | None, message: str) -> None:
    with pytest.raises(NotPermitted) as err:
        apply(REPLIED, step("close", who, dept=dept))
    assert err.value.message == message


def test_another_departments_handler_is_told_who_may() -> None:
    with pytest.raises(NotPermitted) as err:
        apply(DISPATCHED, step("sign", "handler", dept="dep-b"))
    assert err.value.message == "only the lead department's handler may sign this ticket"
    with pytest.raises(NotPermitted) as err:
        apply(SELF, lead("reply", reply="x"))
    assert err.value.message == "role 'handler' may not reply a ticket"


def test_replay_folds_a_history_and_refuses_an_empty_one() -> None:
    history = [step("create", "agent", due_date=DUE.isoformat()),
               step("dispatch", mode="transfer", department_id=LEAD, sign_by="2026-03-03", return_by="2026-03-04"),
               lead("sign"), lead("reply", reply="已处理", satisfaction="satisfied"), step("close")]
    assert replay(history) == replace(NEW, status="closed", mode="transfer", department_id=LEAD,
                                      sign_by=date(2026, 3, 3), return_by=date(2026, 3, 4), reply="已处理",
                                      satisfaction="satisfied", closed_on=D0, closed_on_time=True)
    with pytest.raises(ValueError, match="^an empty history$"):
        replay([])
    with pytest.raises(IllegalTransition):
        replay(history + [lead("sign")])


BROKEN = [
    ("unknown status", replace(NEW, status="lost")),
    ("no deadline", replace(NEW, due_date=None)),
    ("a department at the centre", replace(NEW, department_id=LEAD)),
    ("assisting at the centre", replace(NEW, status="returned", assist_ids=("dep-b",))),
    ("a department on a rejected ticket", replace(NEW, status="rejected", department_id=LEAD)),
    ("a department on a merged ticket", replace(NEW, status="merged", merged_into="t-2", department_id=LEAD)),
    ("dispatched to nobody", replace(DISPATCHED, department_id=None)),
    ("dispatched without a signing day", replace(DISPATCHED, sign_by=None)),
    ("processing by nobody", replace(PROCESSING, department_id=None, mode="transfer")),
    ("an extension while dispatched", replace(DISPATCHED, extension_until=LATER)),
    ("an extension not after the deadline", replace(PROCESSING, extension_until=DUE)),
    ("closed without a day", replace(CLOSED, closed_on=None)),
    ("closed without on-time", replace(CLOSED, closed_on_time=None)),
    ("a closing day while open", replace(PROCESSING, closed_on=D0)),
    ("merged into nothing", replace(NEW, status="merged")),
    ("a callback while open", replace(PROCESSING, visit="sampled")),
    ("a negative count", replace(PROCESSING, urge_count=-1)),
    ("a negative redo count", replace(PROCESSING, redo_count=-1)),
    ("a negative return count", replace(PROCESSING, return_count=-1)),
    ("a negative extension count", replace(PROCESSING, extension_count=-1)),
    ("the lead assists itself", replace(PROCESSING, assist_ids=(LEAD,))),
]


@pytest.mark.parametrize(("name", "state"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_invariants_catch_a_broken_state(name: str, state: TicketState) -> None:
    with pytest.raises(AssertionError):
        check_invariants(state)


@pytest.mark.parametrize("state", [NEW, DISPATCHED, PROCESSING, SELF, REPLIED, CLOSED, CLOSED_SELF,
                                   replace(CLOSED, status="archived", visit="done"),
                                   replace(PROCESSING, extension_until=LATER),
                                   replace(NEW, status="merged", merged_into="t-2")])
def test_the_invariants_hold_on_sound_states(state: TicketState) -> None:
    check_invariants(state)


def test_urging_is_for_overdue_tickets_only() -> None:
    """W-10: "an overdue ticket ... gets an urge notice": not on its due day, from the day after."""
    with pytest.raises(IllegalTransition) as err:
        apply(PROCESSING, step("urge", "system", today=DUE))
    assert err.value.details == {"status": "processing", "action": "urge"} and "2026-03-09" in err.value.message
    assert apply(PROCESSING, step("urge", "system", today=date(2026, 3, 10))).urge_count == 1
