"""The queues at run time (T-5, T-6, T-8): who waits, which agent rings, what each agent is doing.

One ``QueueService`` holds the waiting callers of every queue and every agent's state, and makes
the decisions with the pure core (``strategies.choose``, ``agents.apply``, ``waiting.line_key``).
Decisions are synchronous and cheap (no I/O while deciding): ``_dispatch`` runs after anything that
can change who may be rung, offers each waiting caller (heaviest queue, highest priority, earliest
first) to the agents its strategy picks, and spawns the dialling. Agents' phones are dialled over
ARI into the Stasis app as ``agent`` channels; their events come back through ``StasisApp.claim``.

The caller's side (music, announcements, the agent-number announcement, the bridge) runs in the
caller's own call task (``callcore.queues.stasis``); this service tells it when an agent answered.
Every change is written to the store behind the calls (``persist.StateWriter``) and published on
the event bus: a screen pop for the rung agent's browser, agent states for the wallboard.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from callcore.ari.client import AriClient
from callcore.ari.errors import AriError, AriNotFound, AriUnavailable
from callcore.calls import events as ev
from callcore.calls.session import CallSession
from callcore.calls.stasis import StasisApp
from callcore.core.bus import EventBus
from callcore.core.errors import Conflict, InvalidInput, NotFound
from callcore.queues import agents as ag
from callcore.queues.card import CallerCard
from callcore.queues.errors import IllegalAgentTransition
from callcore.queues.models import Agent, AgentStatus, QueueEntry
from callcore.queues.persist import StateWriter, state_from_json
from callcore.queues.settings import QueueSettings
from callcore.queues.strategies import RingMemory, choose, eligible, remember
from callcore.queues.waiting import WaitingCaller, line_key
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

# Hang-up causes of an agent's leg that ended before it was answered, and what they say of the ring.
_BUSY_CAUSES = frozenset({17, 21})
_NO_ANSWER_CAUSES = frozenset({16, 18, 19, 0})
# Seconds past the queue's ring timeout after which the daemon ends a ring Asterisk did not end.
RING_GRACE = 3.0
# Answer waits kept per queue for the expected-wait estimate.
RECENT_WAITS = 50
# Seconds after start-up by which a conversation left up by the previous daemon has been adopted.
SETTLE_SECONDS = 20.0


class Party(Protocol):
    """Who waits in a line: a caller's ``CallSession``, or a citizen to call back (the callbacks
    capability's booking), whose call record begins when an agent is rung for it."""

    @property
    def call_id(self) -> str: ...
    @property
    def channel_id(self) -> str: ...
    @property
    def caller_number(self) -> str: ...
    @property
    def caller_name(self) -> str: ...
    def event(self, type_: str, **data: Any) -> None: ...


class Queues(Protocol):
    """Where the queues' settings come from (``callcore.queues.catalog.QueueCatalog``)."""

    def all(self) -> Sequence[QueueSettings]: ...


@dataclass(eq=False)
class Ring:
    """One agent's phone ringing for one caller, until answered or ended."""

    agent: str
    channel_id: str
    waiter: Waiter
    started_at: datetime
    cancel_reason: str | None = None
    answered: bool = False
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None
    playbacks: dict[str, asyncio.Future[None]] = field(default_factory=dict)


@dataclass(eq=False)
class Waiter:
    """A caller in a queue's line, as the dispatcher sees it.

    ``kind`` "caller" is a citizen on the line (its place is stored in ``queue_entries``);
    "callback" a citizen to call back in the same order (its place is its callback task's)."""

    session: Party
    caller: WaitingCaller
    settings: QueueSettings
    answered: asyncio.Future[Ring]
    rings: dict[str, Ring] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)
    retry_at: float = 0.0
    attempts: int = 0
    card: CallerCard | None = None
    connected: Ring | None = None
    kind: str = "caller"
    # What the agent's screen pop says besides the card (a callback's task).
    pop: dict[str, Any] = field(default_factory=dict)
    # A direct ring (``ring_one``): set when its one ring ended without an answer, with the reason.
    unanswered: asyncio.Future[str] | None = None

    @property
    def persisted(self) -> bool:
        return self.kind == "caller"


@dataclass
class AgentInfo:
    db_id: str
    number: str
    name: str
    user_id: str | None


class QueueService:
    def __init__(self, *, ari: AriClient, stasis: StasisApp, db: Database, bus: EventBus, queues: Queues,
                 rules: ag.AgentRules = ag.DEFAULT_RULES, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.ari = ari
        self.stasis = stasis
        self.db = db
        self.bus = bus
        self.queues = queues
        self.rules = rules
        self.rng = rng or random.Random()
        self.clock = clock
        self.writer = StateWriter(db)
        self.agents: dict[str, ag.AgentState] = {}
        self.info: dict[str, AgentInfo] = {}
        self.waiting: dict[str, Waiter] = {}
        self.memory: dict[str, RingMemory] = {}
        self.recent_waits: dict[str, deque[float]] = {}
        self._seq = 0
        self._kick_handle: asyncio.Handle | None = None
        self._retry_handle: asyncio.TimerHandle | None = None
        self._wrap_timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Agents in a conversation the daemon follows (connected here, or adopted after a restart).
        self.talking: dict[str, Ring] = {}

    # -- queues ------------------------------------------------------------------------
    def settings(self, name: str) -> QueueSettings | None:
        for q in self.queues.all():
            if q.name == name:
                return q
        return None

    def members_of(self, queue: str) -> list[str]:
        q = self.settings(queue)
        return [m.agent_id for m in q.members] if q else []

    # -- start-up ----------------------------------------------------------------------
    async def load(self) -> None:
        """Agents and their last stored states, and the entry counter, from the store.

        A ring or a call the state still shows cannot have survived unless its channel is still
        parked in the app, and then the call's own resumption puts it right; so rings end here
        (the caller is offered again) and calls end into wrap-up-less availability."""
        await self.refresh_agents()
        now = self.clock()
        async with self.db.session() as s:
            rows = (await s.execute(select(AgentStatus, Agent.number).join(Agent, Agent.id == AgentStatus.agent_id))).all()
            top = (await s.execute(select(QueueEntry.seq).order_by(QueueEntry.seq.desc()).limit(1))).scalar()
        self._seq = int(top or 0)
        for status, number in rows:
            try:
                state = replace(state_from_json(status.state), agent_id=number)
            except (TypeError, ValueError) as exc:
                log.error("agent %s: stored state unreadable (%s); starting logged out", number, exc)
                state = ag.new_agent(number, now)
            if state.status == ag.RINGING:
                state = ag.apply(state, ag.RingCancelled(), now, self.rules)
            elif state.status == ag.WRAP_UP and state.wrap_up_until is not None:
                self._arm_wrap_up(number, state.wrap_up_until)
            # The phone's registration is learnt again from Asterisk.
            self.agents[number] = replace(state, registered=False, device_busy=False)
        # A conversation still up is adopted by its call when the channels are resumed; one that
        # nobody adopted by then ended while the daemon was away.
        asyncio.get_running_loop().call_later(SETTLE_SECONDS, self._settle)

    def _settle(self) -> None:
        for number, state in list(self.agents.items()):
            if state.status == ag.ON_CALL and number not in self.talking:
                log.info("agent %s: the call in progress before the restart is over", number)
                self._apply(number, ag.Hangup(0.0))

    def adopt(self, agent: str, channel_id: str, session: CallSession) -> Ring:
        """Follows again a conversation that went on while the daemon was away."""
        waiter = Waiter(session=session, settings=_ADOPTED,
                        caller=WaitingCaller(call_id=session.call_id, queue="", entered_at=self.clock(), seq=0),
                        answered=asyncio.get_running_loop().create_future())
        ring = Ring(agent=agent, channel_id=channel_id, waiter=waiter, started_at=self.clock(), answered=True)
        waiter.connected = ring
        self.talking[agent] = ring
        self.stasis.claim(channel_id, lambda event: self._on_agent_event(ring, event))
        return ring

    async def refresh_agents(self) -> None:
        async with self.db.session() as s:
            rows = (await s.execute(select(Agent).where(Agent.active.is_(True)))).scalars().all()
        now = self.clock()
        fresh = {a.number: AgentInfo(db_id=a.id, number=a.number, name=a.name, user_id=a.user_id) for a in rows}
        for number in set(self.info) - set(fresh):
            # Deactivated (or removed) by an admin: no longer offered calls.
            self.agents.pop(number, None)
            log.info("agent %s is no longer active", number)
        self.info = fresh
        for number in fresh:
            self.agents.setdefault(number, ag.new_agent(number, now))

    # -- callers -----------------------------------------------------------------------
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def enter(self, session: Party, settings: QueueSettings, caller: WaitingCaller,
              card: CallerCard | None, *, kind: str = "caller", pop: dict[str, Any] | None = None,
              not_before: float = 0.0) -> Waiter:
        """Puts ``session`` in line; ``not_before`` (loop time): not offered to agents before then."""
        waiter = Waiter(session=session, caller=caller, settings=settings,
                        answered=asyncio.get_running_loop().create_future(), card=card, kind=kind,
                        pop=dict(pop or {}), retry_at=not_before)
        self.waiting[caller.call_id] = waiter
        if waiter.persisted:
            self.writer.entered(caller, session.channel_id)
        self.kick()
        return waiter

    def ring_one(self, agent: str, session: Party, settings: QueueSettings, card: CallerCard | None, *,
                 kind: str, pop: dict[str, Any] | None = None) -> Waiter:
        """Rings one agent's phone for a call the agent asked for (click-to-dial), outside any line.

        The waiter's ``answered`` resolves when the agent picks up, its ``unanswered`` when the
        ring ends otherwise. ``Conflict`` when the agent cannot be rung now (not ready, phone not
        registered or busy): the agent must be ready, so no queue call rings at the same time."""
        state = self.agent(agent)
        if not ag.can_ring(state):
            why = "话机未注册" if not state.registered else "请先将状态置为就绪" if state.status != ag.AVAILABLE else "话机忙"
            raise Conflict(f"agent {agent} cannot be rung now: {why}")
        loop = asyncio.get_running_loop()
        caller = WaitingCaller(call_id=f"{kind}:{session.call_id}", queue=settings.name, entered_at=self.clock(), seq=0)
        waiter = Waiter(session=session, caller=caller, settings=settings, answered=loop.create_future(), card=card,
                        kind=kind, pop=dict(pop or {}), unanswered=loop.create_future())
        self._ring(waiter, agent)
        if not waiter.rings:
            raise Conflict(f"agent {agent} cannot be rung now")
        return waiter

    def position(self, waiter: Waiter) -> int:
        line = [w.caller for w in self.waiting.values() if w.caller.queue == waiter.caller.queue]
        line.sort(key=line_key)
        for n, c in enumerate(line, start=1):
            if c.call_id == waiter.caller.call_id:
                return n
        return 0

    def staffed(self, queue: str) -> int:
        """Members logged in and not paused (busy or not): who will serve this line."""
        return sum(1 for a in self.members_of(queue)
                   if a in self.agents and self.agents[a].status not in (ag.LOGGED_OUT, ag.PAUSED))

    def leave(self, waiter: Waiter, reason: str) -> None:
        """The caller is out of the line (answered, hung up, timed out, handed away)."""
        if self.waiting.pop(waiter.caller.call_id, None) is None:
            return
        ring_reason = ev.RING_CALLER_GONE if reason == ev.LEFT_CALLER_HANGUP else ev.RING_CANCELLED
        for ring in list(waiter.rings.values()):
            if ring is not waiter.connected:
                self._cancel_ring(ring, ring_reason)
        status = "answered" if reason == ev.LEFT_ANSWERED else "left"
        agent = waiter.connected.agent if waiter.connected else None
        if waiter.persisted:
            self.writer.left(waiter.caller.call_id, status, self.clock(), agent)
        self.kick()

    def put_back(self, waiter: Waiter, *, not_before: float = 0.0, skip: str | None = None) -> None:
        """An agent answered and was gone before the conversation began (or a callback's citizen did
        not answer): the caller waits again, in the same place (same entry time and order), offered
        to agents again from ``not_before`` (loop time). ``skip``: the agent who let the call go (hung
        up during the agent-number announcement) is free again at once, but this caller goes to the
        others first; it rings them again only in a new round, like an agent who did not answer."""
        waiter.connected = None
        waiter.answered = asyncio.get_running_loop().create_future()
        waiter.tried.clear()
        if skip is not None:
            waiter.tried.add(skip)
        waiter.retry_at = not_before
        self.waiting[waiter.caller.call_id] = waiter
        if waiter.persisted:
            self.writer.entered(waiter.caller, waiter.session.channel_id)
        self.kick()

    def record_wait(self, queue: str, seconds: float) -> None:
        self.recent_waits.setdefault(queue, deque(maxlen=RECENT_WAITS)).append(seconds)

    # -- dispatch ----------------------------------------------------------------------
    def kick(self) -> None:
        """Asks for a dispatch soon; many changes in one loop turn make one dispatch."""
        if self._kick_handle is None:
            self._kick_handle = asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._kick_handle = None
        loop = asyncio.get_running_loop()
        now_t = loop.time()
        today = self.clock().astimezone(self.rules.tz).date()
        weights = {q.name: q.weight for q in self.queues.all()}
        order = sorted(self.waiting.values(), key=lambda w: (-weights.get(w.caller.queue, 0), *line_key(w.caller)))
        next_retry: float | None = None
        for waiter in order:
            if waiter.rings or waiter.connected is not None or waiter.answered.done():
                continue
            if waiter.retry_at > now_t:
                next_retry = min(next_retry or waiter.retry_at, waiter.retry_at)
                continue
            q = self.settings(waiter.caller.queue) or waiter.settings
            waiter.settings = q
            memory = self.memory.get(q.name, RingMemory())
            plan = choose(q.strategy, q.members, self.agents, today=today, memory=memory, rng=self.rng,
                          skip=waiter.tried)
            if not plan.order:
                if waiter.tried and eligible(q.members, self.agents):
                    # Everyone free was tried for this caller: a pause, then a new round.
                    waiter.tried.clear()
                    waiter.retry_at = now_t + q.retry_delay
                    next_retry = min(next_retry or waiter.retry_at, waiter.retry_at)
                continue
            for agent in plan.now:
                self.memory[q.name] = remember(self.memory.get(q.name, RingMemory()), q.members, agent)
                self._ring(waiter, agent)
        if next_retry is not None:
            if self._retry_handle is not None:
                self._retry_handle.cancel()
            self._retry_handle = loop.call_at(next_retry, self.kick)

    def _ring(self, waiter: Waiter, agent: str) -> None:
        session = waiter.session
        now = self.clock()
        try:
            self._apply(agent, ag.Ring(session.call_id))
        except IllegalAgentTransition as exc:
            log.warning("not ringing agent %s: %s", agent, exc)
            return
        waiter.attempts += 1
        waiter.tried.add(agent)
        ring = Ring(agent=agent, channel_id=f"agent-{uuid.uuid4()}", waiter=waiter, started_at=now)
        waiter.rings[agent] = ring
        self.stasis.claim(ring.channel_id, lambda event: self._on_agent_event(ring, event))
        session.event(ev.AGENT_RINGING, queue=waiter.caller.queue, agent=agent, attempt=waiter.attempts,
                      channel_id=ring.channel_id)
        # T-8: the agent's browser learns who calls the moment the phone is asked to ring.
        self.bus.publish({"kind": "screen_pop", "agent": agent, "call_id": session.call_id,
                          "queue": waiter.caller.queue, "at": now.isoformat(), "card": waiter.card,
                          "origin": waiter.kind, **waiter.pop},
                         topic=agent_topic(agent), private=True)
        timeout = waiter.settings.ring_timeout
        ring.timer = asyncio.get_running_loop().call_later(timeout + RING_GRACE, self._ring_overdue, ring)
        self._spawn(self._dial(ring, timeout), name=f"ring-{agent}")

    async def _dial(self, ring: Ring, timeout: float) -> None:
        session = ring.waiter.session
        name = session.caller_name.replace('"', "") or session.caller_number
        try:
            await self.ari.originate(
                f"PJSIP/{ring.agent}", channel_id=ring.channel_id, app_args=f"agent,{session.call_id}",
                caller_id=f'"{name}" <{session.caller_number}>', timeout=max(1, round(timeout)),
                originator=session.channel_id or None)
        except AriUnavailable as exc:
            # Asterisk did not take the request (overloaded, restarting): not the agent's fault, and
            # ringing the next agent at once would only add to the load. The caller waits a round.
            log.warning("dialling agent %s failed, Asterisk unavailable: %s", ring.agent, exc)
            ring.waiter.retry_at = asyncio.get_running_loop().time() + max(1.0, ring.waiter.settings.retry_delay)
            self.stasis.release(ring.channel_id)
            self._ring_ended(ring, ev.RING_CANCELLED, cause=None)
        except AriError as exc:
            log.warning("dialling agent %s failed: %s", ring.agent, exc)
            self._ring_ended(ring, ev.RING_UNREACHABLE, cause=None)

    def _ring_overdue(self, ring: Ring) -> None:
        if not ring.answered and not ring.gone.is_set():
            self._cancel_ring(ring, ev.RING_NO_ANSWER)

    def _cancel_ring(self, ring: Ring, reason: str) -> None:
        """Stops a phone ringing (the daemon's decision): the ring ends now with ``reason``."""
        ring.cancel_reason = reason
        self._spawn(self._hangup(ring.channel_id), name="ring-cancel")
        self._ring_ended(ring, reason, cause=None)

    async def _hangup(self, channel_id: str) -> None:
        try:
            await self.ari.hangup(channel_id, "normal")
        except AriNotFound:
            pass
        except AriError as exc:
            log.warning("could not hang up agent leg %s: %s", channel_id, exc)

    def _ring_ended(self, ring: Ring, reason: str, *, cause: int | None) -> None:
        waiter = ring.waiter
        if waiter.rings.get(ring.agent) is not ring:
            return  # already ended
        del waiter.rings[ring.agent]
        if ring.timer is not None:
            ring.timer.cancel()
        if not ring.answered:
            self.stasis.release(ring.channel_id)
        waiter.session.event(ev.AGENT_RING_ENDED, queue=waiter.caller.queue, agent=ring.agent, reason=reason,
                             **({"cause": cause} if cause is not None else {}))
        state = self.agents.get(ring.agent)
        if state is not None and state.status == ag.RINGING and state.call_id == waiter.session.call_id:
            # A ring the agent asked for (click-to-dial) that went unanswered is no missed queue call.
            missed = reason in ev.RING_MISSED and waiter.unanswered is None
            event: ag.AgentEvent = ag.RingNoAnswer() if missed else ag.RingCancelled()
            self._apply(ring.agent, event)
        if waiter.unanswered is not None and not waiter.unanswered.done() and not waiter.rings:
            waiter.unanswered.set_result(reason)
        self.kick()

    # -- the agent's leg ---------------------------------------------------------------
    def _on_agent_event(self, ring: Ring, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "StasisStart":
            self._answered(ring)
        elif kind in ("ChannelDestroyed", "StasisEnd", "ChannelHangupRequest"):
            if ring.answered:
                ring.gone.set()
                if kind == "ChannelDestroyed":
                    self.stasis.release(ring.channel_id)
            elif kind == "ChannelDestroyed":
                cause = event.get("cause")
                self._ring_ended(ring, ring.cancel_reason or _ring_reason(cause), cause=cause)
        elif kind == "PlaybackFinished":
            fut = ring.playbacks.pop(str((event.get("playback") or {}).get("id", "")), None)
            if fut is not None and not fut.done():
                fut.set_result(None)

    def _answered(self, ring: Ring) -> None:
        waiter = ring.waiter
        if waiter.rings.get(ring.agent) is not ring or waiter.connected is not None or waiter.answered.done():
            # Too late: the caller left, or another phone of a ringall was first.
            ring.cancel_reason = ring.cancel_reason or ev.RING_CANCELLED
            self._spawn(self._hangup(ring.channel_id), name="late-answer")
            return
        ring.answered = True
        if ring.timer is not None:
            ring.timer.cancel()
        waiter.connected = ring
        self.talking[ring.agent] = ring
        del waiter.rings[ring.agent]
        waiter.session.event(ev.AGENT_RING_ENDED, queue=waiter.caller.queue, agent=ring.agent, reason=ev.RING_ANSWERED)
        self._apply(ring.agent, ag.Answer())
        waiter.answered.set_result(ring)

    async def play_to_agent(self, ring: Ring, media: str) -> None:
        """Plays to the agent's leg and waits for the end (or the leg's end)."""
        playback_id = str(uuid.uuid4())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ring.playbacks[playback_id] = done
        try:
            await self.ari.play(ring.channel_id, media, playback_id=playback_id)
        except AriError:
            ring.playbacks.pop(playback_id, None)
            return
        gone: asyncio.Future[Any] = asyncio.ensure_future(ring.gone.wait())
        try:
            await asyncio.wait({done, gone}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            ring.playbacks.pop(playback_id, None)

    def agent_leg_done(self, ring: Ring, *, talked: bool, wrap_up: float) -> None:
        """The agent's part in a call is over: wrap-up (if it talked) and back to the line."""
        self.stasis.release(ring.channel_id)
        if self.talking.get(ring.agent) is ring:
            del self.talking[ring.agent]
        self._spawn(self._hangup(ring.channel_id), name="agent-leg-end")
        state = self.agents.get(ring.agent)
        if state is None or state.status != ag.ON_CALL:
            return
        self._apply(ring.agent, ag.Hangup(wrap_up if talked else 0.0))
        after = self.agents[ring.agent]
        if after.status == ag.WRAP_UP and after.wrap_up_until is not None:
            self._arm_wrap_up(ring.agent, after.wrap_up_until)

    def _arm_wrap_up(self, agent: str, until: datetime) -> None:
        loop = asyncio.get_running_loop()
        delay = max(0.0, (until - self.clock()).total_seconds())
        old = self._wrap_timers.pop(agent, None)
        if old is not None:
            old.cancel()
        self._wrap_timers[agent] = loop.call_later(delay, self._wrap_up_over, agent)

    def _wrap_up_over(self, agent: str) -> None:
        self._wrap_timers.pop(agent, None)
        state = self.agents.get(agent)
        if state is not None and state.status == ag.WRAP_UP:
            self._apply(agent, ag.WrapUpOver())

    # -- agents' own actions (T-6) -----------------------------------------------------
    def agent(self, number: str) -> ag.AgentState:
        state = self.agents.get(number)
        if state is None:
            raise NotFound(f"no active agent {number}")
        return state

    def login(self, number: str) -> ag.AgentState:
        return self._act(number, ag.Login())

    def logout(self, number: str) -> ag.AgentState:
        return self._act(number, ag.Logout())

    def pause(self, number: str, reason: str) -> ag.AgentState:
        if not reason.strip():
            raise InvalidInput("a pause needs a reason")
        return self._act(number, ag.Pause(reason))

    def resume(self, number: str) -> ag.AgentState:
        return self._act(number, ag.Resume())

    def ready(self, number: str) -> ag.AgentState:
        """Ends wrap-up early: the agent is ready for the next call."""
        timer = self._wrap_timers.pop(number, None)
        if timer is not None:
            timer.cancel()
        return self._act(number, ag.WrapUpOver())

    def _act(self, number: str, event: ag.AgentEvent) -> ag.AgentState:
        self.agent(number)
        try:
            return self._apply(number, event)
        except IllegalAgentTransition as exc:
            raise Conflict(str(exc)) from None

    def _apply(self, number: str, event: ag.AgentEvent) -> ag.AgentState:
        """The one place an agent's state changes: apply, store, publish, and dispatch again."""
        before = self.agent(number)
        now = self.clock()
        after = ag.apply(before, event, now, self.rules)
        self.agents[number] = after
        info = self.info.get(number)
        if info is not None:
            self.writer.agent(info.db_id, after, event, now)
        if after.status != before.status or after.registered != before.registered or after.device_busy != before.device_busy:
            self.bus.publish({"kind": "agent_state", "agent": number, "status": after.status,
                              "since": after.since.isoformat(), "pause_reason": after.pause_reason,
                              "registered": after.registered, "call_id": after.call_id, "event": event.name},
                             topic=agent_topic(number))
        if ag.can_ring(after) and not ag.can_ring(before):
            self.kick()
        return after

    # -- the phones, from Asterisk (AMI) -----------------------------------------------
    def on_device_state(self, device: str, state: str) -> None:
        """``DeviceStateChange`` for ``PJSIP/<number>``: registration and busy-elsewhere."""
        tech, _, number = device.partition("/")
        if tech.upper() != "PJSIP" or number not in self.agents:
            return
        for event in device_events(self.agents[number], state.upper()):
            self._apply(number, event)

    # -- wallboard ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What a wallboard shows now: per queue the waiting callers and the longest wait, per
        agent the state and the time in it (numbers are masked by the HTTP layer)."""
        now = self.clock()
        queues = []
        for q in self.queues.all():
            line = sorted((w for w in self.waiting.values() if w.caller.queue == q.name), key=lambda w: line_key(w.caller))
            waits = [(now - w.caller.entered_at).total_seconds() for w in line]
            # Callers on the line; the callbacks booked in it hold places but nobody is waiting on hold.
            on_line = [wait for w, wait in zip(line, waits) if w.kind == "caller"]
            queues.append({
                "name": q.name, "display_name": q.display_name, "waiting": len(on_line),
                "longest_wait": max(on_line) if on_line else 0.0, "callbacks": len(line) - len(on_line),
                "staffed": self.staffed(q.name),
                "available": sum(1 for a in self.members_of(q.name) if a in self.agents and ag.can_ring(self.agents[a])),
                "callers": [{"call_id": w.caller.call_id, "caller": w.session.caller_number, "position": n,
                             "priority": w.caller.priority, "waited": round(wait, 1), "kind": w.kind,
                             "ringing": sorted(w.rings)} for n, (w, wait) in enumerate(zip(line, waits), start=1)],
            })
        agents = []
        for number, s in sorted(self.agents.items()):
            info = self.info.get(number)
            agents.append({
                "number": number, "name": info.name if info else "", "status": s.status,
                "since": s.since, "seconds_in_status": round((now - s.since).total_seconds(), 1),
                "pause_reason": s.pause_reason, "registered": s.registered, "device_busy": s.device_busy,
                "call_id": s.call_id, "answered_today": ag.answered_on(s, now.astimezone(self.rules.tz).date()),
                "missed_in_row": s.missed_in_row, "missed_total": s.missed_total,
            })
        return {"at": now, "queues": queues, "agents": agents}

    # -- tasks -------------------------------------------------------------------------
    def _spawn(self, coro: Any, *, name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for handle in (self._kick_handle, self._retry_handle, *self._wrap_timers.values()):
            if handle is not None:
                handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(self.writer.wait_idle(), 3)
        except TimeoutError:
            log.warning("queue state not all written at shutdown")
        except OUTAGE_ERRORS:  # pragma: no cover - the writer handles its own errors
            pass


_ADOPTED = QueueSettings(name="adopted", display_name="恢复的通话", wrap_up=0.0)


def agent_topic(number: str) -> str:
    """The event-bus topic of one agent's feed (screen pops, state changes)."""
    return f"agent:{number}"


def _ring_reason(cause: Any) -> str:
    """Why a phone that was never answered stopped ringing, from the leg's hang-up cause (Q.850)."""
    try:
        code = int(cause)
    except (TypeError, ValueError):
        return ev.RING_UNREACHABLE
    if code in _BUSY_CAUSES:
        return ev.RING_BUSY
    if code in _NO_ANSWER_CAUSES:
        return ev.RING_NO_ANSWER
    return ev.RING_UNREACHABLE


# Asterisk device states (DeviceStateChange ``State``).
_UNREGISTERED = frozenset({"UNAVAILABLE", "INVALID"})
_IN_USE = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})


def device_events(s: ag.AgentState, state: str) -> list[ag.AgentEvent]:
    """The agent events a phone's device state means, given what the agent is doing now.

    A phone the daemon itself rings or connects is in use because of the queue, not busy with
    something else; only outside a queue call does "in use" keep the agent from being rung."""
    out: list[ag.AgentEvent] = []
    if state == "UNKNOWN":  # Asterisk does not know yet: nothing is learnt
        return out
    if state in _UNREGISTERED:
        if s.registered:
            out.append(ag.DeviceUnregistered())
        return out
    if not s.registered:
        out.append(ag.DeviceRegistered())
    busy = state in _IN_USE and s.status not in ag.WITH_CALL
    if busy and not s.device_busy:
        out.append(ag.DeviceBusy())
    elif not busy and s.device_busy:
        out.append(ag.DeviceIdle())
    return out
