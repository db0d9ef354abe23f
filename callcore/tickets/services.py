"""The ticket service: creates tickets and applies actions, each as one transaction that appends
the event, updates the projection on the ticket row, and writes the notifications it causes."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts import audit
from callcore.calls.models import Call
from callcore.core.errors import Conflict
from callcore.core.identity import CENTER, SYSTEM, SYSTEM_PRINCIPAL, Principal
from callcore.core.privacy import scrub
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets import duplicates, names, notices, search
from callcore.tickets.access import may_reveal, visible_clause, workable_clause
from callcore.tickets.calendar import PACKAGE, HolidaySource, local_date
from callcore.tickets.deadlines import Deadlines
from callcore.tickets.errors import BadTicketInput, IllegalTransition, NotPermitted, TicketNotFound
from callcore.tickets.models import (
    Category,
    Ticket,
    TicketCall,
    TicketDepartment,
    TicketEvent,
    TicketLink,
    TicketSequence,
    TicketUrge,
)
from callcore.tickets.settings import DEFAULT_CATEGORIES, TicketSettings
from callcore.tickets.workflow import CORRECTABLE, OPEN, Step, TicketState, apply

log = logging.getLogger(__name__)
CHANNELS = ("phone", "web", "sms", "mail", "open311")


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    category: str
    content: str
    channel: str = "phone"
    call_id: str | None = None
    caller_name: str = ""
    phone: str = ""
    id_card: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    title: str = ""
    urgency: str = "normal"
    received_at: datetime | None = None


@dataclass(kw_only=True)
class TicketView:
    ticket: Ticket
    departments: list[TicketDepartment] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    links: list[TicketLink] = field(default_factory=list)


def state_of(t: Ticket, assists: tuple[str, ...]) -> TicketState:
    """The workflow state the ticket row holds."""
    return TicketState(
        status=t.status, mode=t.mode, department_id=t.department_id, assist_ids=assists, due_date=t.due_date,
        sign_by=t.sign_by, return_by=t.return_by, extension_until=t.extension_until, explained_for=t.explained_for,
        urge_count=t.urge_count, redo_count=t.redo_count, return_count=t.return_count,
        extension_count=t.extension_count, supervised=t.supervised, satisfaction=t.satisfaction, visit=t.visit,
        reply=t.reply, reject_reason=t.reject_reason, merged_into=t.merged_into,
        closed_on=None if t.closed_at is None else local_date(t.closed_at), closed_on_time=t.closed_on_time,
        due_from=t.due_from, due_days=t.due_days, paused_days=t.paused_days or 0,
        due_unverified=bool(t.due_unverified), approved_until=t.approved_until, paused_on=t.paused_on,
        pause_kind=t.pause_kind,
    )


PROJECTED = ("status", "mode", "department_id", "due_date", "sign_by", "return_by", "extension_until", "explained_for",
             "urge_count", "redo_count", "return_count", "extension_count", "supervised", "satisfaction", "visit",
             "reply", "reject_reason", "merged_into", "closed_on_time", "due_from", "due_days", "paused_days",
             "due_unverified", "approved_until", "paused_on", "pause_kind")


def project(t: Ticket, s: TicketState, now: datetime) -> None:
    for name in PROJECTED:
        setattr(t, name, getattr(s, name))
    if s.closed_on is None:
        t.closed_at = None
    elif t.closed_at is None:
        t.closed_at = now
    t.updated_at = now


def step_of(e: TicketEvent) -> Step:
    """Rebuilds the workflow step an event recorded (replay)."""
    return Step(action=e.action, role=e.role, actor_department_id=e.actor_department_id,
                today=date.fromisoformat(e.data["today"]), data=e.data)


async def _active_department(s: AsyncSession, ref: object, key: str) -> str:
    d = await names.find_department(s, str(ref), field_name=key)
    if d is None or not d.active:
        raise BadTicketInput(key, f"没有这个单位：{ref}")
    return d.id


async def ensure_categories(db: Database) -> None:
    """Seeds the default categories (W-2) into an empty table."""
    async with db.session() as s:
        if await s.scalar(select(Category.code).limit(1)) is None:
            s.add_all(Category(code=c, name=n, limit_days=d, active=True) for c, n, d in DEFAULT_CATEGORIES)


class TicketService:
    def __init__(self, db: Database, settings: TicketSettings | None = None, *,
                 holidays: HolidaySource = PACKAGE) -> None:
        self.db = db
        self.settings = settings or TicketSettings()
        self.holidays = holidays
        self._deadlines: Deadlines | None = None

    async def deadlines(self) -> Deadlines:
        if self._deadlines is None:
            await ensure_categories(self.db)
            self._deadlines = await Deadlines.load(self.db, self.settings, self.holidays)
        return self._deadlines

    async def reload(self) -> None:
        """Re-reads categories and calendar overrides after an admin changed them."""
        self._deadlines = await Deadlines.load(self.db, self.settings, self.holidays)

    async def calendar_warning(self) -> str | None:
        """For the health output: open tickets whose deadlines reach a year without official holiday data,
        and which years those are (the ones their deadlines were counted across, whatever today is)."""
        async with self.db.session() as s:  # ix_tickets_due_unverified: only the flagged rows are read
            n, first, last = (await s.execute(
                select(func.count(), func.min(Ticket.received_at), func.max(Ticket.due_date))
                .where(Ticket.due_unverified.is_(True), Ticket.status.in_(sorted(OPEN))))).one()
        if not n:
            return None
        dl = await self.deadlines()
        years = dl.calendar.uncovered_years(local_date(first), last)
        return (f"{n} open tickets have deadlines in years without official holiday data "
                f"({', '.join(map(str, years)) or 'see the tickets'}): enter the holidays as calendar overrides")

    async def colour_days(self, now: datetime | None = None) -> tuple[date, date]:
        """Today (local) and the last day a deadline still shows yellow (W-8): what a ticket's colour
        is computed against."""
        dl = await self.deadlines()
        today = local_date(now or utcnow())
        return today, dl.yellow_until(today)

    # -- intake ---------------------------------------------------------------------------------

    async def _number(self, s: AsyncSession, day: date) -> str:
        key = day.strftime("%Y%m%d")
        ins = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = ins(TicketSequence).values(day=key, last=1)
        stmt = stmt.on_conflict_do_update(index_elements=["day"], set_={"last": TicketSequence.last + 1})
        last = (await s.execute(stmt.returning(TicketSequence.last))).scalar_one()
        return f"{key}{last:06d}"

    def check_new(self, new: NewTicket, now: datetime) -> None:
        """W-1 input every channel shares: some content, and a plausible time of receipt."""
        if not new.content.strip():
            raise BadTicketInput("content", "诉求内容不能为空")
        if new.received_at is not None:
            if new.received_at > now + timedelta(seconds=self.settings.received_future_seconds):
                raise BadTicketInput("received_at", "受理时间不能晚于当前时间")
            if new.received_at < now - timedelta(days=self.settings.received_max_age_days):
                raise BadTicketInput("received_at",
                                     f"受理时间不能早于{self.settings.received_max_age_days}天前")

    async def create(self, who: Principal, new: NewTicket) -> tuple[Ticket, list[duplicates.Candidate]]:
        if who.role not in CENTER | {SYSTEM}:
            raise NotPermitted(f"role {who.role!r} may not create tickets")
        if new.channel not in CHANNELS:
            raise BadTicketInput("channel", f"must be one of {', '.join(CHANNELS)}")
        self.check_new(new, utcnow())
        dl = await self.deadlines()
        for attempt in range(3):
            try:
                return await self._create(who, new, dl)
            except IntegrityError as exc:  # a query code drawn twice: draw again
                if "query_code" not in str(exc) or attempt == 2:
                    raise Conflict("ticket could not be created, retry") from None
        raise AssertionError("unreachable")

    async def _create(self, who: Principal, new: NewTicket, dl: Deadlines) -> tuple[Ticket, list[duplicates.Candidate]]:
        now = utcnow()
        received = new.received_at or now
        async with self.db.session() as s:
            cat = await s.get(Category, new.category)
            if cat is None or not cat.active:
                raise BadTicketInput("category", f"unknown category {new.category!r}")
            if new.call_id and await s.get(Call, new.call_id) is None:
                raise BadTicketInput("call_id", f"no call {new.call_id!r}")
            today = local_date(now)
            step = Step(action="create", role=who.role, actor_department_id=who.department_id, today=today,
                        data={"today": today.isoformat(), **dl.for_category(new.category, local_date(received)),
                              "channel": new.channel, "category": new.category, "call_id": new.call_id})
            state = apply(None, step)
            t = Ticket(id=str(uuid.uuid4()), number=await self._number(s, local_date(received)),
                       query_code=f"{secrets.randbelow(10**8):08d}", channel=new.channel, call_id=new.call_id,
                       caller_name=new.caller_name, phone=new.phone, id_card=new.id_card, address=new.address,
                       lat=new.lat, lon=new.lon, category=new.category, title=new.title, content=new.content,
                       urgency=new.urgency, received_at=received, created_by=who.user_id, last_seq=0)
            project(t, state, now)
            s.add(t)
            await s.flush()
            self.event(s, t, step, who, None, state, now, note="")
            if new.call_id:
                s.add(TicketCall(ticket_id=t.id, call_id=new.call_id))
            if new.phone:
                notices.citizen_received(s, t, now)
            await s.flush()
            await search.reindex(s, t)
            dups = await duplicates.find(
                s, phone=new.phone, content=new.content, category=new.category, now=now,
                window_days=self.settings.duplicate_window_days, threshold=self.settings.duplicate_similarity,
                limit=self.settings.duplicate_scan_limit, visible=visible_clause(who), exclude=t.id)
        log.info("ticket %s created by %s (%s) phone %s", t.number, who.user_id, who.role, scrub(t.phone))
        self._warn_unverified(t, None, state, dl)
        return t, dups

    def _warn_unverified(self, t: Ticket, before: TicketState | None, after: TicketState, dl: Deadlines) -> None:
        """Logs a deadline that reaches a year without official holiday data, once per new deadline."""
        if after.due_unverified and (before is None or not before.due_unverified or before.due_date != after.due_date):
            assert after.due_date is not None and after.due_from is not None
            years = dl.calendar.uncovered_years(after.due_from, after.due_date)
            log.warning("ticket %s: deadline %s is counted over %s without official holiday data; enter the "
                        "year's holidays as calendar overrides", t.number, after.due_date.isoformat(),
                        ", ".join(map(str, years)))

    def event(self, s: AsyncSession, t: Ticket, step: Step, who: Principal, before: TicketState | None,
               after: TicketState, now: datetime, *, note: str) -> TicketEvent:
        t.last_seq += 1
        if t.first_responsible_id is None and who.role != SYSTEM:
            # 首问负责制: the first member of staff who took the ticket answers for it to the citizen.
            t.first_responsible_id, t.first_responsible_name = who.user_id, who.name
        concerned = after.department_id or (before.department_id if before else None)
        e = TicketEvent(id=str(uuid.uuid4()), ticket_id=t.id, seq=t.last_seq, at=now, action=step.action,
                        actor_id=who.user_id, actor_name=who.name, role=who.role,
                        actor_department_id=who.department_id, department_id=concerned,
                        from_status=before.status if before else None, to_status=after.status, note=note,
                        data=step.data)
        s.add(e)
        return e

    # -- actions --------------------------------------------------------------------------------

    async def _load(self, s: AsyncSession, who: Principal, ref: str, *, lock: bool = False) -> Ticket:
        """The ticket ``who`` may read; with ``lock`` (to act on it) only one ``who`` may work on: a
        department that returned a ticket still reads it, and is told it may not act."""
        if "\x00" in ref or len(ref) > 64:  # PostgreSQL refuses NUL in text: such a ref matches nothing
            raise TicketNotFound(f"ticket {ref[:64]!r} not found")
        q = select(Ticket).where(visible_clause(who))
        q = q.where(Ticket.id == ref) if len(ref) == 36 else q.where(Ticket.number == ref)
        if lock and self.db.dialect == "postgresql":
            q = q.with_for_update()
        t = await s.scalar(q)
        if t is None:
            raise TicketNotFound(f"ticket {ref} not found")
        if lock and await s.scalar(select(Ticket.id).where(Ticket.id == t.id, workable_clause(who))) is None:
            raise NotPermitted("本单位已退回该工单，只能查看，不能办理")
        return t

    async def attach_call(self, who: Principal, ref: str, call_id: str) -> str:
        """Links a call to a ticket ``who`` can see (a click-to-dial or a callback about it): the call,
        its recording and its timeline are then the ticket's too. The ticket's id; idempotent."""
        async with self.db.session() as s:
            t = await self._load(s, who, ref)
            if await s.get(TicketCall, (t.id, call_id)) is None:
                s.add(TicketCall(ticket_id=t.id, call_id=call_id))
            return t.id

    async def _assists(self, s: AsyncSession, t: Ticket) -> tuple[str, ...]:
        rows = await s.scalars(select(TicketDepartment.department_id).where(
            TicketDepartment.ticket_id == t.id, TicketDepartment.role == "assist").order_by(TicketDepartment.department_id))
        return tuple(rows)

    async def act(self, who: Principal, ref: str, action: str, data: dict[str, Any] | None = None, *,
                  note: str = "", now: datetime | None = None) -> Ticket:
        """Applies one action; refused actions change nothing and raise a typed error."""
        now = now or utcnow()
        dl = await self.deadlines()
        try:
            async with self.db.session() as s:
                t = await self._load(s, who, ref, lock=True)
                assists = await self._assists(s, t)
                before = state_of(t, assists)
                today = local_date(now)
                payload = await self._enrich(s, who, t, before, action, dict(data or {}), today, dl)
                if action == "note":
                    payload["note"] = note or payload.get("note", "")
                step = Step(action=action, role=who.role, actor_department_id=who.department_id, today=today,
                            data=payload)
                after = apply(before, step)
                project(t, after, now)
                self.event(s, t, step, who, before, after, now, note=note)
                await self._effects(s, t, before, after, step, now)
                await s.flush()
        except IntegrityError:
            raise Conflict(f"ticket {ref} changed at the same time; retry") from None
        self._warn_unverified(t, before, after, dl)
        log.info("ticket %s: %s by %s (%s) %s -> %s", t.number, action, who.user_id, who.role, before.status,
                 after.status)
        return t

    async def _enrich(self, s: AsyncSession, who: Principal, t: Ticket, before: TicketState, action: str,
                      data: dict[str, Any], today: date, dl: Deadlines) -> dict[str, Any]:
        """Adds what the service knows (dates from the calendar, resolved ids) to the event data."""
        data["today"] = today.isoformat()
        if action == "dispatch":
            # Departments given by id, code or name (names.find_department); the event records their ids.
            if data.get("department_id"):
                data["department_id"] = await _active_department(s, data["department_id"], "department_id")
            if data.get("assist_ids"):
                data["assist_ids"] = [await _active_department(s, x, "assist_ids") for x in data["assist_ids"]]
            data["sign_by"] = dl.sign_by(today).isoformat()
            data["return_by"] = dl.return_by(today).isoformat()
        elif action in ("redo", "review"):
            data.update(dl.for_category(t.category, today))
            if action == "redo" and before.department_id:
                data["sign_by"] = dl.sign_by(today).isoformat()
        elif action == "resume" and before.paused_on is not None:
            paused = dl.calendar.workdays_between(before.paused_on, today)
            data["paused_days"] = paused
            if before.due_from is not None and before.due_days is not None:
                data.update(dl.counted(before.due_from, before.due_days, before.paused_days + paused))
            else:  # a date a person chose: moved by the working days paused
                assert before.due_date is not None
                data["due_date"] = dl.calendar.add_workdays(before.due_date, paused).isoformat()
        elif action == "reclassify":
            code = str(data.get("category") or "")
            cat = await s.get(Category, code)
            if cat is None or not cat.active:
                raise BadTicketInput("category", f"没有类别 {code!r}")
            if code == t.category:
                raise BadTicketInput("category", "新类别与原类别相同")
            data["from_category"] = t.category
            data.update(dl.counted(before.due_from or local_date(t.received_at), cat.limit_days, before.paused_days))
        elif action == "correct":
            name = str(data.get("field") or "")
            if name in CORRECTABLE:
                value = str(data.get("value") or "").strip()
                if len(value) > (256 if name == "address" else 4000):
                    raise BadTicketInput("value", "内容过长")
                data["value"], data["old"] = value, getattr(t, name)
        elif action == "recompute":
            data.update(self._recount(t, before, dl) or {})
        elif action == "request_extension" and data.get("until") in (None, "") and data.get("days") is not None:
            try:
                days = int(data["days"])
            except (TypeError, ValueError):
                raise BadTicketInput("days", "must be a whole number of working days") from None
            if not 1 <= days <= 365:
                raise BadTicketInput("days", "must be between 1 and 365")
            assert before.due_date is not None
            data["until"] = dl.calendar.add_workdays(before.due_date, days).isoformat()
        elif action == "urge":
            data["number"] = before.urge_count + 1
            data["due"] = before.due_date.isoformat() if before.due_date else None
            data["escalate"] = data["number"] == self.settings.escalate_after_urges
        elif action == "sign" and before.sign_by is not None:
            data["late"] = today > before.sign_by
        elif action in ("link", "merge"):
            other_ref = str(data.get("other_id") or data.get("other") or "")
            if not other_ref:
                raise BadTicketInput("other_id", f"{action} needs the other ticket", text="请指定另一张工单")
            try:
                other = await self._load(s, who, other_ref)
            except TicketNotFound:
                raise BadTicketInput("other_id", f"unknown ticket {other_ref!r}",
                                     text=f"没有工单号为 {other_ref} 的工单（或不在您的权限范围内）") from None
            if other.id == t.id:
                raise BadTicketInput("other_id", "a ticket cannot be linked to itself", text="工单不能与自身关联或合并")
            data["other_id"] = other.id
            data["other_number"] = other.number
        return data

    async def _effects(self, s: AsyncSession, t: Ticket, before: TicketState, after: TicketState, step: Step,
                       now: datetime) -> None:
        if (before.department_id, before.assist_ids) != (after.department_id, after.assist_ids):
            await s.execute(delete(TicketDepartment).where(TicketDepartment.ticket_id == t.id))
            if after.department_id:
                s.add(TicketDepartment(ticket_id=t.id, department_id=after.department_id, role="lead",
                                       status=after.status, received_at=t.received_at, category=t.category))
            s.add_all(TicketDepartment(ticket_id=t.id, department_id=d, role="assist", status=after.status,
                                       received_at=t.received_at, category=t.category) for d in after.assist_ids)
        elif before.status != after.status:
            await s.execute(update(TicketDepartment).where(TicketDepartment.ticket_id == t.id)
                            .values(status=after.status))
        a = step.action
        if a == "reclassify":
            t.category = str(step.data["category"])
            await s.execute(update(TicketDepartment).where(TicketDepartment.ticket_id == t.id)
                            .values(category=t.category))
        if a == "correct":
            setattr(t, str(step.data["field"]), str(step.data["value"]))
            await s.flush()
            await search.reindex(s, t)  # the corrected text is what search finds
        if a == "urge":
            s.add(TicketUrge(ticket_id=t.id, number=after.urge_count, at=now, department_id=t.department_id,
                             automatic=step.role == SYSTEM))
        if a in ("link", "merge"):
            other = str(step.data["other_id"])
            kind = "merged_into" if a == "merge" else "related"
            s.add(TicketLink(ticket_id=t.id, other_id=other, kind=kind))
            back = await s.get(TicketLink, (other, t.id))
            if back is None:
                s.add(TicketLink(ticket_id=other, other_id=t.id, kind="merged_from" if a == "merge" else "related"))
        await notices.for_step(s, t, before, after, step, now, self.settings)

    # -- calendar changes -------------------------------------------------------------------------

    @staticmethod
    def _recount(t: Ticket, before: TicketState, dl: Deadlines) -> dict[str, Any] | None:
        """The deadline counted again on today's calendar, or None when it has no basis (a date a person
        chose, or a ticket from before deadlines kept their basis)."""
        if before.due_from is None or before.due_days is None:
            return None
        return dl.counted(before.due_from, before.due_days, before.paused_days)

    async def recompute_deadlines(self, why: str = "calendar change", *, year: int | None = None,
                                  now: datetime | None = None) -> int:
        """After the calendar changed: every open ticket whose counted deadline (or its verified flag) now
        differs gets a ``recompute`` event by the system; nothing is overwritten. With ``year`` (the year
        of the day that changed) only the deadlines counted over that year are looked at. Returns how many."""
        now = now or utcnow()
        dl = await self.deadlines()
        changed, after_id = 0, ""
        scope: list[ColumnElement[bool]] = [Ticket.status.in_(sorted(OPEN)), Ticket.due_from.is_not(None)]
        if year is not None:
            scope += [Ticket.due_date >= date(year, 1, 1), Ticket.due_from <= date(year, 12, 31)]
        while True:
            async with self.db.session() as s:
                rows = list(await s.scalars(
                    select(Ticket).where(*scope, Ticket.id > after_id).order_by(Ticket.id).limit(500)))
            if not rows:
                return changed
            after_id = rows[-1].id
            for t in rows:
                new = self._recount(t, state_of(t, ()), dl)
                if new is None or (new["due_date"], new["due_unverified"]) == (t.due_date.isoformat(),
                                                                             bool(t.due_unverified)):
                    continue
                try:
                    await self.act(SYSTEM_PRINCIPAL, t.id, "recompute", note=why, now=now)
                    changed += 1
                except (IllegalTransition, TicketNotFound) as exc:  # it closed meanwhile
                    log.debug("recompute of %s skipped: %s", t.number, exc.message)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, who: Principal, ref: str) -> TicketView:
        async with self.db.session() as s:
            t = await self._load(s, who, ref)
            deps = list(await s.scalars(select(TicketDepartment).where(TicketDepartment.ticket_id == t.id)))
            events = list(await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                                          .order_by(TicketEvent.seq)))
            calls = list(await s.scalars(select(TicketCall.call_id).where(TicketCall.ticket_id == t.id)))
            links = list(await s.scalars(select(TicketLink).where(TicketLink.ticket_id == t.id)))
        return TicketView(ticket=t, departments=deps, events=events, calls=calls, links=links)

    async def reveal(self, who: Principal, ref: str, fields: list[str]) -> dict[str, str]:
        """Whole personal values for roles that need them; every view is audited (A-2)."""
        for f in fields:
            if f not in ("phone", "id_card"):
                raise BadTicketInput("fields", f"unknown personal field {f!r}")
            if not may_reveal(who, f):
                raise NotPermitted(f"role {who.role!r} may not see the whole {f}")
        async with self.db.session() as s:
            t = await self._load(s, who, ref)
            audit.record(s, who, action="reveal", object_type="ticket", object_id=t.id,
                         detail={"fields": fields, "number": t.number})
            return {f: getattr(t, f) for f in fields}

    async def duplicates(self, who: Principal, *, phone: str, content: str, category: str,
                         exclude: str | None = None) -> list[duplicates.Candidate]:
        async with self.db.session() as s:
            return await duplicates.find(
                s, phone=phone, content=content, category=category, now=utcnow(),
                window_days=self.settings.duplicate_window_days, threshold=self.settings.duplicate_similarity,
                limit=self.settings.duplicate_scan_limit, visible=visible_clause(who), exclude=exclude)
