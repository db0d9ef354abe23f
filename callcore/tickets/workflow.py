"""The ticket state machine (W-3, W-5, W-6, W-9..W-15), pure: no database, no clock.

A ticket's state is the fold of its events with ``apply``; the service appends an event only
after ``apply`` accepted it, and writes the resulting state onto the ticket row, so the row and
the replay of the history always agree. Every date an event needs (deadlines, "today") is in
the event itself, so replay needs neither the calendar nor the time of replay.

Rules the centre chose (issue 14):

- A deadline counted in working days keeps its basis (``due_from``, ``due_days``, plus the working
  days of past pauses, ``paused_days``) so a calendar change can recompute it (``recompute``, a
  system event); a date a person chose (an approved extension) has no basis and is never moved.
- Approving an extension may grant less than was asked: ``until`` after the current deadline and
  not after the requested date; without ``until`` the requested date is granted.
- Redo (W-13) gives the department the category's whole limit again, counted from the redo day.
  An extension the centre approved for this ticket (``approved_until``) stays the deadline when it is
  later than the redo's new deadline (the centre's promise is not taken back by the citizen's
  dissatisfaction); when it is earlier, the redo's deadline applies. A return or a review ends the
  department's handling and forgets the approved extension. A reclassification follows the same
  rule: the new category's limit from the same start, or the approved extension when later.
- A pause (听证/评审/踏勘) stops the clock: the ticket is ``paused`` (neither due soon nor overdue,
  never urged); ``resume`` moves the deadline by the working days paused, which the service counts:
  the working days after the day of the pause up to the day of the resumption (a pause resumed the
  same day moves nothing). A pause is asked for before the deadline, with no extension pending.
- Corrections are events with who and why: ``reclassify`` (the deadline recounted as above) and
  ``correct`` (address, content; the old value kept in the event). A leader's instructions
  (领导批示) are the ``instruct`` event, the one step a leader takes.
- Urging (W-10) is for overdue tickets only; a ticket sampled for a callback (W-12) is archived only
  once rated or after the sample was withdrawn (``withdraw_sample``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from callcore.core.identity import CENTER, FLOOR_MANAGERS, HANDLER, LEADER, SYSTEM, TICKET_MANAGERS
from callcore.tickets.errors import BadTicketInput, IllegalTransition, NotPermitted

STATUSES = ("new", "dispatched", "processing", "paused", "returned", "replied", "closed", "rejected", "review",
            "merged", "archived")
# Under the center, waiting for a decision (intake, after a return, after a review request).
AT_CENTER = frozenset({"new", "returned", "review"})
# With a department (or the center itself for 自办), the clock of the deadline running.
IN_HAND = frozenset({"dispatched", "processing"})
OPEN = AT_CENTER | IN_HAND | {"paused", "replied"}

MODES = {"self": "自办", "transfer": "转送", "assign": "交办", "cohandle": "协办", "supervise": "督办"}
REJECT_REASONS = {
    "unlawful": "内容违法",
    "out_of_jurisdiction": "不属本辖区管辖",
    "in_litigation": "已进入诉讼、行政复议或仲裁程序",
    "department_not_in_system": "承办单位未纳入系统",
    "emergency_referred": "紧急事项已转110/119/120/122",
}
PAUSE_KINDS = {"hearing": "听证", "review": "评审", "survey": "踏勘"}
CORRECTABLE = {"address": "地址", "content": "诉求内容"}
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意", "unknown": "未评价"}
STATUS_TEXT = {
    "new": "已受理", "dispatched": "已转办，待签收", "processing": "办理中", "paused": "办理中（暂停计时）", "returned": "已退回，待重新派发",
    "replied": "已答复，待审核", "closed": "已办结", "rejected": "不予受理", "review": "复核中",
    "merged": "已合并", "archived": "已归档",
}
ACTION_TEXT = {
    "create": "受理", "answer": "即办答复", "reject": "不予受理", "dispatch": "派发", "sign": "签收", "return": "退回",
    "reply": "答复", "close": "办结", "redo": "重办", "review": "复核", "request_extension": "申请延期",
    "approve_extension": "批准延期", "refuse_extension": "不批准延期", "urge": "催办", "explain": "情况说明",
    "supervise": "督办", "note": "备注", "sample": "抽样回访", "rate": "回访评价", "link": "关联", "merge": "合并",
    "archive": "归档", "withdraw_sample": "撤销回访抽样", "pause": "暂停计时", "resume": "恢复计时",
    "reclassify": "更正类别", "correct": "更正信息", "instruct": "领导批示", "recompute": "重新计算办理期限",
}
ACTIONS = ("create", "answer", "reject", "dispatch", "sign", "return", "reply", "close", "redo", "review",
           "request_extension", "approve_extension", "refuse_extension", "urge", "explain", "supervise", "note",
           "sample", "rate", "link", "merge", "archive", "withdraw_sample", "pause", "resume", "reclassify", "correct",
           "instruct", "recompute")
# Steps only the daemon takes (a calendar change); never offered to users.
SYSTEM_ACTIONS = frozenset({"recompute"})


@dataclass(frozen=True)
class TicketState:
    status: str = "new"
    mode: str | None = None
    department_id: str | None = None
    assist_ids: tuple[str, ...] = ()
    due_date: date | None = None
    sign_by: date | None = None
    return_by: date | None = None
    extension_until: date | None = None
    explained_for: date | None = None
    urge_count: int = 0
    redo_count: int = 0
    return_count: int = 0
    extension_count: int = 0
    supervised: bool = False
    satisfaction: str | None = None
    visit: str | None = None
    reply: str = ""
    reject_reason: str | None = None
    merged_into: str | None = None
    closed_on: date | None = None
    closed_on_time: bool | None = None
    # The basis of a deadline counted in working days (None: a date a person chose), and whether a year it
    # spans has no official holiday data (issue 14).
    due_from: date | None = None
    due_days: int | None = None
    paused_days: int = 0
    due_unverified: bool = False
    approved_until: date | None = None
    paused_on: date | None = None
    pause_kind: str | None = None


@dataclass(frozen=True, kw_only=True)
class Step:
    """One requested action: who asks, on which day (local), with which data."""

    action: str
    role: str
    actor_department_id: str | None = None
    today: date
    data: dict[str, Any] = field(default_factory=dict)


def _date(data: dict[str, Any], key: str, action: str) -> date:
    value = data.get(key)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BadTicketInput(key, f"{action} needs a date (YYYY-MM-DD)") from None


def _text(data: dict[str, Any], key: str, action: str) -> str:
    value = str(data.get(key) or "").strip()
    if not value:
        raise BadTicketInput(key, f"{action} needs a non-empty {key}")
    return value


def _need_status(s: TicketState, step: Step, allowed: frozenset[str] | set[str]) -> None:
    if s.status not in allowed:
        raise IllegalTransition(s.status, step.action)


def _need_role(step: Step, roles: frozenset[str] | set[str]) -> None:
    if step.role not in roles:
        raise NotPermitted(f"role {step.role!r} may not {step.action} a ticket")


def _need_lead(s: TicketState, step: Step) -> None:
    """The lead department's handler acts; the center acts for tickets it handles itself (自办)."""
    if s.department_id is None:
        _need_role(step, CENTER)
    elif step.role != HANDLER or step.actor_department_id != s.department_id:
        raise NotPermitted(f"only the lead department's handler may {step.action} this ticket")


def apply(state: TicketState | None, step: Step) -> TicketState:
    """The state after ``step``, or an error naming the state and the action."""
    a, d = step.action, step.data
    if state is None:
        if a != "create":
            raise IllegalTransition("none", a, "a ticket starts with create")
        _need_role(step, CENTER | {SYSTEM})
        return _deadline(TicketState(), d, a)
    s = state
    if s.status == "archived":
        raise IllegalTransition(s.status, a, "archived tickets are read-only")
    if a == "create":
        raise IllegalTransition(s.status, a, "the ticket exists")
    if a == "answer":
        _need_status(s, step, AT_CENTER)
        _need_role(step, CENTER)
        return replace(s, status="closed", reply=_text(d, "reply", a), mode=None, department_id=None, assist_ids=(),
                       closed_on=step.today, closed_on_time=step.today <= _due(s), satisfaction=_sat(d, a, True))
    if a == "reject":
        _need_status(s, step, AT_CENTER)
        _need_role(step, CENTER)
        reason = str(d.get("reason") or "")
        if reason not in REJECT_REASONS:
            raise BadTicketInput("reason", f"must be one of {', '.join(REJECT_REASONS)}")
        return replace(s, status="rejected", reject_reason=reason, department_id=None, assist_ids=())
    if a == "dispatch":
        _need_status(s, step, AT_CENTER)
        _need_role(step, CENTER)
        return _dispatch(s, step)
    if a == "sign":
        _need_status(s, step, {"dispatched"})
        _need_lead(s, step)
        return replace(s, status="processing")
    if a == "return":
        _need_status(s, step, IN_HAND)
        if s.department_id is None:
            raise IllegalTransition(s.status, a, "the center handles this ticket itself")
        _need_lead(s, step)
        _text(d, "reason", a)
        if s.return_by is not None and step.today > s.return_by:
            raise IllegalTransition(s.status, a, f"the return period ended on {s.return_by.isoformat()}")
        return replace(s, status="returned", department_id=None, assist_ids=(), mode=None, sign_by=None,
                       return_by=None, extension_until=None, approved_until=None, return_count=s.return_count + 1)
    if a == "reply":
        _need_status(s, step, {"processing"})
        _need_lead(s, step)
        # The citizen's satisfaction is the centre's to record at the callback; a department may pass it on.
        return replace(s, status="replied", reply=_text(d, "reply", a), satisfaction=_sat(d, a, True),
                       extension_until=None)
    if a == "close":
        _need_status(s, step, {"replied"})
        _need_role(step, TICKET_MANAGERS)
        return replace(s, status="closed", closed_on=step.today, closed_on_time=step.today <= _due(s))
    if a == "redo":
        _need_status(s, step, {"replied", "closed"})
        _need_role(step, TICKET_MANAGERS)
        if s.satisfaction != "unsatisfied":
            raise IllegalTransition(s.status, a, "only an unsatisfied citizen's ticket is redone")
        if s.department_id is None and s.mode != "self":
            raise IllegalTransition(s.status, a, "no department handled this ticket")
        status = "processing" if s.department_id is None else "dispatched"
        redone = replace(s, status=status, redo_count=s.redo_count + 1, sign_by=_opt_date(d, "sign_by"),
                         return_by=None, satisfaction=None, visit=None, reply="", closed_on=None,
                         closed_on_time=None, explained_for=None, paused_days=0)
        return _keep_approved(_deadline(redone, d, a), s.approved_until)
    if a == "review":
        _need_status(s, step, {"closed"})
        _need_role(step, CENTER)
        _text(d, "reason", a)
        reviewed = replace(s, status="review", department_id=None, assist_ids=(), mode=None, closed_on=None,
                           closed_on_time=None, visit=None, approved_until=None, paused_days=0)
        return _deadline(reviewed, d, a)
    if a == "request_extension":
        _need_status(s, step, {"processing"})
        _need_lead(s, step)
        if s.extension_until is not None:
            raise IllegalTransition(s.status, a, "an extension request is already pending", text="已有延期申请待审批")
        if step.today > _due(s):
            raise IllegalTransition(s.status, a, f"too late: the deadline was {_due(s).isoformat()}",
                                    text=f"办理期限（{_due(s).isoformat()}）已过，不能再申请延期")
        until = _date(d, "until", a)
        if until <= _due(s):
            raise BadTicketInput("until", f"must be after the current deadline {_due(s).isoformat()}")
        _text(d, "reason", a)
        return replace(s, extension_until=until)
    if a in ("approve_extension", "refuse_extension"):
        _need_status(s, step, {"processing"})
        _need_role(step, TICKET_MANAGERS)
        if s.extension_until is None:
            raise IllegalTransition(s.status, a, "no extension request is pending", text="没有待审批的延期申请")
        if a == "refuse_extension":
            return replace(s, extension_until=None)
        until = _opt_date(d, "until") or s.extension_until
        if until <= _due(s):
            raise BadTicketInput("until", f"批准的延期日期必须晚于当前办理期限 {_due(s).isoformat()}")
        if until > s.extension_until:
            raise BadTicketInput("until", f"批准的延期日期不能晚于申请的日期 {s.extension_until.isoformat()}")
        return replace(s, due_date=until, extension_until=None, extension_count=s.extension_count + 1,
                       approved_until=until, due_from=None, due_days=None, due_unverified=False)
    if a == "urge":
        _need_status(s, step, IN_HAND)
        _need_role(step, TICKET_MANAGERS | {SYSTEM})
        if step.today <= _due(s):
            raise IllegalTransition(s.status, a, f"未超期，不能催办（办理期限 {_due(s).isoformat()}）")
        return replace(s, urge_count=s.urge_count + 1, supervised=s.supervised or bool(d.get("escalate")))
    if a == "explain":
        _need_status(s, step, IN_HAND)
        _need_lead(s, step)
        _text(d, "note", a)
        return replace(s, explained_for=s.due_date)
    if a == "supervise":
        _need_status(s, step, IN_HAND | {"replied"})
        _need_role(step, FLOOR_MANAGERS)
        return replace(s, supervised=True)
    if a == "note":
        # Everyone who works a ticket; a leader writes only instructions (instruct, 领导批示).
        _need_role(step, CENTER | {HANDLER, SYSTEM})
        _text(d, "note", a)
        return s
    if a == "sample":
        _need_status(s, step, {"closed"})
        _need_role(step, TICKET_MANAGERS | {SYSTEM})
        if s.visit is not None:
            raise IllegalTransition(s.status, a, f"the callback is already {s.visit}")
        return replace(s, visit="sampled")
    if a == "rate":
        _need_status(s, step, {"closed"})
        _need_role(step, CENTER | {SYSTEM})  # staff on the phone, or the automatic survey call (W-12)
        if s.visit != "sampled":
            raise IllegalTransition(s.status, a, "the ticket was not sampled for a callback")
        rating = str(d.get("rating") or "")
        if rating not in SATISFACTION or rating == "unknown":
            raise BadTicketInput("rating", "must be satisfied, basically_satisfied or unsatisfied")
        return replace(s, visit="done", satisfaction=rating)
    if a == "link":
        _need_role(step, CENTER)
        _text(d, "other_id", a)
        return s
    if a == "merge":
        _need_status(s, step, AT_CENTER)
        _need_role(step, CENTER)
        return replace(s, status="merged", merged_into=_text(d, "other_id", a))
    if a == "archive":
        _need_status(s, step, {"closed", "rejected", "merged"})
        _need_role(step, TICKET_MANAGERS)
        if s.visit == "sampled":
            raise IllegalTransition(s.status, a, "已抽样回访尚未评价：评价或撤销抽样后才能归档")
        return replace(s, status="archived")
    if a == "withdraw_sample":
        _need_status(s, step, {"closed"})
        _need_role(step, TICKET_MANAGERS)
        if s.visit != "sampled":
            raise IllegalTransition(s.status, a, "the ticket is not waiting for a callback")
        _text(d, "reason", a)
        return replace(s, visit="withdrawn")
    if a in ("pause", "resume"):
        return _pause_or_resume(s, step)
    if a == "reclassify":
        _need_status(s, step, OPEN)
        _need_role(step, TICKET_MANAGERS)
        _text(d, "category", a)
        _text(d, "reason", a)
        return _keep_approved(_deadline(s, d, a), s.approved_until)
    if a == "correct":
        _need_role(step, TICKET_MANAGERS)
        if d.get("field") not in CORRECTABLE:
            raise BadTicketInput("field", f"只能更正：{'、'.join(CORRECTABLE.values())}（{', '.join(CORRECTABLE)}）")
        _text(d, "reason", a)
        if d["field"] == "content":
            _text(d, "value", a)
        return s
    if a == "instruct":
        _need_role(step, {LEADER})
        _text(d, "instructions", a)
        return s
    if a == "recompute":
        _need_status(s, step, OPEN)
        _need_role(step, {SYSTEM})
        return _deadline(s, d, a)
    raise BadTicketInput("action", f"unknown action {a!r}; one of {', '.join(ACTIONS[1:])}")


def _deadline(s: TicketState, d: dict[str, Any], action: str) -> TicketState:
    """A deadline counted by the service: its date, its basis and whether its years are covered."""
    due = _date(d, "due_date", action)
    days = d.get("due_days")
    out = replace(s, due_date=due, due_from=_opt_date(d, "due_from"), due_days=None if days is None else int(days),
                  due_unverified=bool(d.get("due_unverified")))
    if out.extension_until is not None and out.extension_until <= due:
        out = replace(out, extension_until=None)  # the new deadline already grants what was asked
    return out


def _keep_approved(s: TicketState, approved: date | None) -> TicketState:
    """An approved extension stays the deadline when it is later than a recounted one (module docstring)."""
    if approved is None or s.due_date is None or approved <= s.due_date:
        return s
    return replace(s, due_date=approved, due_from=None, due_days=None, due_unverified=False,
                   extension_until=s.extension_until if s.extension_until and s.extension_until > approved else None)


def _pause_or_resume(s: TicketState, step: Step) -> TicketState:
    """The department or the centre stops the clock for a hearing, a review or a site survey, then restarts it."""
    a, d = step.action, step.data
    _need_status(s, step, {"processing"} if a == "pause" else {"paused"})
    if s.department_id is not None and step.role == HANDLER:
        _need_lead(s, step)
    else:
        _need_role(step, TICKET_MANAGERS)
    if a == "pause":
        kind = str(d.get("kind") or "")
        if kind not in PAUSE_KINDS:
            raise BadTicketInput("kind", f"暂停原因须为：{'、'.join(PAUSE_KINDS.values())}（{', '.join(PAUSE_KINDS)}）")
        _text(d, "reason", a)
        if step.today > _due(s):
            raise IllegalTransition(s.status, a, f"已超期（办理期限 {_due(s).isoformat()}），不能暂停计时")
        if s.extension_until is not None:
            raise IllegalTransition(s.status, a, "延期申请待审批，不能暂停计时")
        return replace(s, status="paused", paused_on=step.today, pause_kind=kind)
    due = _date(d, "due_date", a)
    if due < _due(s):
        raise BadTicketInput("due_date", "恢复计时后的办理期限不能早于暂停前")
    days = int(d.get("paused_days") or 0)
    return replace(s, status="processing", paused_on=None, pause_kind=None, due_date=due,
                   paused_days=s.paused_days + days)


def _due(s: TicketState) -> date:
    assert s.due_date is not None, "a created ticket has a deadline"
    return s.due_date


def _opt_date(d: dict[str, Any], key: str) -> date | None:
    return None if d.get(key) in (None, "") else _date(d, key, key)


def _sat(d: dict[str, Any], action: str, optional: bool) -> str | None:
    value = d.get("satisfaction")
    if value in (None, "") and optional:
        return None
    if value not in SATISFACTION:
        raise BadTicketInput("satisfaction", f"must be one of {', '.join(SATISFACTION)}")
    return str(value)


def _dispatch(s: TicketState, step: Step) -> TicketState:
    d = step.data
    mode = str(d.get("mode") or "")
    if mode not in MODES:
        raise BadTicketInput("mode", f"must be one of {', '.join(MODES)}")
    if mode == "self":
        return replace(s, status="processing", mode=mode, department_id=None, assist_ids=(), sign_by=None,
                       return_by=None, supervised=s.supervised)
    dept = str(d.get("department_id") or "")
    if not dept:
        raise BadTicketInput("department_id", f"mode {mode} needs a department")
    assists = tuple(str(x) for x in d.get("assist_ids") or ())
    if dept in assists or len(set(assists)) != len(assists):
        raise BadTicketInput("assist_ids", "assisting departments must differ from the lead and each other")
    if mode == "cohandle" and not assists:
        raise BadTicketInput("assist_ids", "co-handling (协办) needs at least one assisting department")
    if mode != "cohandle" and assists:
        raise BadTicketInput("assist_ids", "only co-handling (协办) has assisting departments")
    if mode == "assign" and not str(d.get("instructions") or "").strip():
        raise BadTicketInput("instructions", "assigning (交办) needs instructions")
    return replace(s, status="dispatched", mode=mode, department_id=dept, assist_ids=assists,
                   sign_by=_date(d, "sign_by", "dispatch"), return_by=_date(d, "return_by", "dispatch"),
                   supervised=s.supervised or mode == "supervise")


def replay(steps: list[Step]) -> TicketState:
    """The state a history leads to; raises if the history is not a legal sequence."""
    state: TicketState | None = None
    for step in steps:
        state = apply(state, step)
    if state is None:
        raise ValueError("an empty history")
    return state


def check_invariants(s: TicketState) -> None:
    """What must hold in every reachable state (the property tests call this)."""
    assert s.status in STATUSES
    assert s.due_date is not None
    if s.status in AT_CENTER | {"rejected", "merged"}:
        assert s.department_id is None and not s.assist_ids
    if s.status == "dispatched":
        assert s.department_id is not None and s.sign_by is not None
    if s.status in ("processing", "paused"):
        assert s.department_id is not None or s.mode == "self"
    assert (s.status == "paused") == (s.paused_on is not None) == (s.pause_kind is not None)
    if s.due_from is not None:
        assert s.due_days is not None
    if s.extension_until is not None:
        assert s.status == "processing" and s.extension_until > s.due_date
    if s.status == "closed":
        assert s.closed_on is not None and s.closed_on_time is not None
    else:
        assert s.closed_on is None or s.status == "archived"
    if s.status == "merged":
        assert s.merged_into
    if s.visit is not None:
        assert s.status in ("closed", "archived")
    assert min(s.urge_count, s.redo_count, s.return_count, s.extension_count) >= 0
    assert s.department_id not in s.assist_ids
