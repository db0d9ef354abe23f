"""The state machine: every (state, action) pair allowed or refused, roles, and properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.core.errors import DomainError
from callcore.tickets.errors import BadTicketInput, IllegalTransition, NotPermitted
from callcore.tickets.workflow import ACTIONS, STATUSES, Step, TicketState, apply, check_invariants, replay

D0 = date(2026, 3, 2)
DUE = date(2026, 3, 9)
LEAD = "dep-a"

# A good request for each action: the role allowed to make it and the data it needs.
GOOD: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "answer": ("agent", None, {"reply": "政策如下"}),
    "reject": ("agent", None, {"reason": "out_of_jurisdiction"}),
    "dispatch": ("dispatcher", None, {"mode": "transfer", "department_id": LEAD, "sign_by": "2026-03-03",
                                      "return_by": "2026-03-04"}),
    "sign": ("handler", LEAD, {}),
    "return": ("handler", LEAD, {"reason": "非本单位职责"}),
    "reply": ("handler", LEAD, {"reply": "已处理", "satisfaction": "unsatisfied"}),
    "close": ("dispatcher", None, {}),
    "redo": ("dispatcher", None, {"due_date": "2026-03-16", "sign_by": "2026-03-03"}),
    "review": ("agent", None, {"reason": "市民申请复核", "due_date": "2026-03-16"}),
    "request_extension": ("handler", LEAD, {"until": "2026-03-20", "reason": "需协调"}),
    "approve_extension": ("supervisor", None, {}),
    "refuse_extension": ("supervisor", None, {}),
    "urge": ("system", None, {"number": 1}),
    "explain": ("handler", LEAD, {"note": "等待审批"}),
    "supervise": ("supervisor", None, {}),
    "note": ("agent", None, {"note": "备注"}),
    "sample": ("dispatcher", None, {}),
    "rate": ("agent", None, {"rating": "satisfied"}),
    "link": ("agent", None, {"other_id": "t-2"}),
    "merge": ("agent", None, {"other_id": "t-2"}),
    "archive": ("dispatcher", None, {}),
    "withdraw_sample": ("dispatcher", None, {"reason": "市民拒绝回访"}),
    "pause": ("handler", LEAD, {"kind": "hearing", "reason": "组织听证"}),
    "resume": ("handler", LEAD, {"due_date": "2026-03-12", "paused_days": 3}),
    "reclassify": ("dispatcher", None, {"category": "report", "reason": "实为举报", "due_date": "2026-04-13",
                                        "due_from": "2026-03-02", "due_days": 30}),
    "correct": ("dispatcher", None, {"field": "address", "value": "幸福路1号", "reason": "地址记错"}),
    "instruct": ("leader", None, {"instructions": "请尽快办理"}),
    "recompute": ("system", None, {"due_date": "2026-03-10", "due_from": "2026-03-02", "due_days": 5,
                                   "due_unverified": True}),
}
# Urging needs an overdue ticket: the day after the deadline.
TODAY = {"urge": DUE + timedelta(days=1)}

BASE = TicketState(due_date=DUE)
STATES: dict[str, TicketState] = {
    "new": BASE,
    "dispatched": replace(BASE, status="dispatched", mode="transfer", department_id=LEAD, sign_by=D0, return_by=D0),
    "processing": replace(BASE, status="processing", mode="transfer", department_id=LEAD, sign_by=D0, return_by=D0),
    "returned": replace(BASE, status="returned"),
    "replied": replace(BASE, status="replied", mode="transfer", department_id=LEAD, satisfaction="unsatisfied"),
    "closed": replace(BASE, status="closed", mode="transfer", department_id=LEAD, satisfaction="unsatisfied",
                      closed_on=D0, closed_on_time=True),
    "rejected": replace(BASE, status="rejected", reject_reason="unlawful"),
    "review": replace(BASE, status="review"),
    "merged": replace(BASE, status="merged", merged_into="t-2"),
    "paused": replace(BASE, status="paused", mode="transfer", department_id=LEAD, sign_by=D0, return_by=D0,
                      paused_on=D0, pause_kind="hearing"),
    "archived": replace(BASE, status="archived"),
}
ANY = {"note", "link", "correct", "instruct"}
OPEN_ONLY = {"reclassify", "recompute"}
ALLOWED: dict[str, set[str]] = {
    "new": {"answer", "reject", "dispatch", "merge"} | ANY | OPEN_ONLY,
    "dispatched": {"sign", "return", "urge", "explain", "supervise"} | ANY | OPEN_ONLY,
    "processing": {"return", "reply", "request_extension", "urge", "explain", "supervise", "pause"} | ANY | OPEN_ONLY,
    "paused": {"resume"} | ANY | OPEN_ONLY,
    "returned": {"answer", "reject", "dispatch", "merge"} | ANY | OPEN_ONLY,
    "replied": {"close", "redo", "supervise"} | ANY | OPEN_ONLY,
    "closed": {"redo", "review", "sample", "archive"} | ANY,
    "rejected": {"archive"} | ANY,
    "review": {"answer", "reject", "dispatch", "merge"} | ANY | OPEN_ONLY,
    "merged": {"archive"} | ANY,
    "archived": set(),
}


def step(action: str, *, today: date | None = None, **over: Any) -> Step:
    role, dept, data = GOOD[action]
    today = today or TODAY.get(action, D0)
    return Step(action=action, role=over.get("role", role), actor_department_id=over.get("dept", dept), today=today,
                data={**data, **over.get("data", {})})


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS[1:])
def test_every_transition(status: str, action: str) -> None:
    state = STATES[status]
    if action in ALLOWED[status]:
        after = apply(state, step(action))
        check_invariants(after)
    else:
        with pytest.raises(IllegalTransition) as err:
            apply(state, step(action))
        assert repr(status) in err.value.message and repr(action) in err.value.message


def test_results_of_main_transitions() -> None:
    s = apply(STATES["new"], step("dispatch", data={"mode": "cohandle", "assist_ids": ["dep-b", "dep-c"]}))
    assert (s.status, s.department_id, s.assist_ids) == ("dispatched", LEAD, ("dep-b", "dep-c"))
    assert apply(STATES["new"], step("dispatch", data={"mode": "self"})).status == "processing"
    assert apply(STATES["new"], step("dispatch", data={"mode": "supervise"})).supervised
    assert apply(STATES["dispatched"], step("sign")).status == "processing"
    r = apply(STATES["dispatched"], step("return"))
    assert (r.status, r.department_id, r.return_count) == ("returned", None, 1)
    p = apply(STATES["processing"], step("request_extension"))
    assert p.extension_until == date(2026, 3, 20)
    assert apply(p, step("approve_extension")).due_date == date(2026, 3, 20)
    assert apply(p, step("refuse_extension")).due_date == DUE
    closed = apply(STATES["replied"], step("close"))
    assert closed.closed_on_time is True
    late = apply(STATES["replied"], step("close", today=date(2026, 3, 10)))
    assert late.closed_on_time is False
    sampled = apply(closed, step("sample"))
    rated = apply(sampled, step("rate"))
    assert rated.visit == "done" and rated.satisfaction == "satisfied"
    with pytest.raises(IllegalTransition, match="not sampled"):
        apply(closed, step("rate"))
    with pytest.raises(IllegalTransition, match="unsatisfied"):
        apply(rated, step("redo"))
    redo = apply(STATES["closed"], step("redo"))
    assert (redo.status, redo.department_id, redo.redo_count) == ("dispatched", LEAD, 1)
    assert apply(STATES["closed"], step("review")).status == "review"


def test_guards_with_dates_and_data() -> None:
    with pytest.raises(IllegalTransition, match="return period"):
        apply(STATES["dispatched"], step("return", today=D0 + timedelta(days=1)))
    with pytest.raises(IllegalTransition, match="too late") as late:
        apply(STATES["processing"], step("request_extension", today=DUE + timedelta(days=1)))
    # What the API says and the console shows: the deadline, not "the state does not allow this".
    assert late.value.to_json()["message"] == f"办理期限（{DUE.isoformat()}）已过，不能再申请延期"
    with pytest.raises(BadTicketInput, match="until"):
        apply(STATES["processing"], step("request_extension", data={"until": "2026-03-05"}))
    pending = apply(STATES["processing"], step("request_extension"))
    with pytest.raises(IllegalTransition, match="already pending") as again:
        apply(pending, step("request_extension"))
    assert again.value.to_json()["message"] == "已有延期申请待审批"
    with pytest.raises(BadTicketInput, match="reason"):
        apply(STATES["new"], step("reject", data={"reason": "dislike"}))
    with pytest.raises(BadTicketInput, match="assist_ids"):
        apply(STATES["new"], step("dispatch", data={"mode": "cohandle"}))
    with pytest.raises(BadTicketInput, match="instructions"):
        apply(STATES["new"], step("dispatch", data={"mode": "assign"}))
    with pytest.raises(BadTicketInput, match="mode"):
        apply(STATES["new"], step("dispatch", data={"mode": "teleport"}))
    with pytest.raises(IllegalTransition, match="starts with create"):
        apply(None, step("sign"))


@pytest.mark.parametrize("action", ["sign", "return", "reply", "request_extension", "explain"])
def test_only_the_lead_handler(action: str) -> None:
    state = STATES["processing"] if action != "sign" else STATES["dispatched"]
    for role, dept in (("handler", "dep-b"), ("dispatcher", None), ("leader", None)):
        with pytest.raises(NotPermitted):
            apply(state, step(action, role=role, dept=dept))


@pytest.mark.parametrize("action", ["answer", "reject", "dispatch", "close", "redo", "approve_extension", "urge",
                                    "supervise", "sample", "archive", "merge"])
def test_center_actions_refuse_handlers_and_leaders(action: str) -> None:
    if action == "approve_extension":
        state = apply(STATES["processing"], step("request_extension"))
    else:
        state = STATES[next(s for s, allowed in ALLOWED.items() if action in allowed)]
    for role, dept in (("handler", LEAD), ("leader", None)):
        with pytest.raises(NotPermitted):
            apply(state, step(action, role=role, dept=dept))


# --- properties ----------------------------------------------------------------------------------

ROLES = [("agent", None), ("dispatcher", None), ("supervisor", None), ("leader", None), ("system", None),
         ("handler", "dep-a"), ("handler", "dep-b"), ("admin", None)]
step_strategy = st.builds(
    lambda action, who, day, sat, mode: Step(
        action=action, role=who[0], actor_department_id=who[1], today=D0 + timedelta(days=day),
        data={**GOOD[action][2], "satisfaction": sat, **({"mode": mode, "assist_ids": ["dep-c"] if mode == "cohandle"
                                                          else [], "instructions": "请办理"}
                                                         if action == "dispatch" else {})}),
    st.sampled_from(ACTIONS[1:]), st.sampled_from(ROLES), st.integers(0, 12),
    st.sampled_from(["satisfied", "unsatisfied", "basically_satisfied"]),
    st.sampled_from(["self", "transfer", "assign", "cohandle", "supervise"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step_strategy, max_size=40))
def test_random_sequences_stay_consistent_and_replay(steps: list[Step]) -> None:
    create = Step(action="create", role="agent", today=D0, data={"due_date": DUE.isoformat()})
    state = apply(None, create)
    accepted = [create]
    for s in steps:
        try:
            new = apply(state, s)
        except DomainError:
            continue  # refused: the state is untouched (frozen dataclass)
        check_invariants(new)
        accepted.append(s)
        state = new
    assert replay(accepted) == state
    if "archive" in [s.action for s in accepted]:
        assert accepted[-1].action == "archive" and state.status == "archived"


def test_a_leader_reads_and_writes_nothing_not_even_a_note() -> None:
    """Issue 12: the read-only leader could add notes to any ticket."""
    with pytest.raises(NotPermitted):
        apply(STATES["processing"], step("note", role="leader"))
    for role in ("agent", "dispatcher", "supervisor", "admin", "system"):
        assert apply(STATES["processing"], step("note", role=role)) == STATES["processing"]
    assert apply(STATES["processing"], step("note", role="handler", dept=LEAD)) == STATES["processing"]
