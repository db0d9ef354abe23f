"""The callback dialer: callback tasks wait in the queues' lines and are served like callers.

Each open task is a *booking* in its queue's line (``QueueService``), with the entry time, order
and priority of the caller it came from, so the dispatcher serves it exactly when that caller would
have been served: a caller who chose a callback at position k is called back no later than the
caller at k+1 is answered. When its turn comes, the dispatcher rings a free agent (the screen pop
shows the citizen, the task and why); once the agent answers, the citizen is dialled through the
trunk (``OutboundDialer``) and the two are bridged and recorded like a queued call. No answer or
busy: the agent is told, and the booking goes back to its place, not offered again before the
retry gap. Each attempt is one call record (``direction`` callback) and one attempt row.

An agent may also serve a task with their own call (click-to-dial): ``hold`` takes its booking out
of line, so the dispatcher never dials it at the same time; the try is the same ``attempt`` (the
same attempt row and outcome, a call record of direction click_to_dial); ``release`` puts the task
back in line if it is still open.

Tasks are in the store; a restarted daemon books every open one again (``load``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from callcore.callbacks.services import CallbackService, TaskView
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.calls.outbound import DialResult, OutboundDialer
from callcore.calls.session import CallSession
from callcore.core.errors import Conflict, NotFound
from callcore.prompts.synth import PromptError, ensure_prompt
from callcore.queues.card import CallerCard
from callcore.queues.services import QueueService, Ring, Waiter
from callcore.queues.settings import QueueSettings
from callcore.queues.stasis import QueueHandoff
from callcore.queues.waiting import WaitingCaller
from callcore.store.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)

# What the agent hears once it picked up a callback (or its own click-to-dial), and if the citizen
# could not be reached.
DIALLING_TEXT = "回拨任务，正在为您呼叫市民，请稍候。"
NOT_REACHED_TEXT = "市民未能接通，本次回拨结束。"
# Seconds after start-up before the bookings are offered: agents' phones and states are learnt first.
SETTLE_SECONDS = 2.0

CardFor = Callable[[str, str], Awaitable[CallerCard]]


def task_pop(task: TaskView) -> dict[str, Any]:
    """What an agent's screen pop says of the task a ring is for (the try, why, since when)."""
    return {"callback": {"task_id": task.id, "origin": task.origin, "attempt": task.attempts + 1,
                         "entered_at": task.entered_at.isoformat()}}


@dataclass(eq=False)
class PlacedCall:
    """A call the hotline places, as a ``Party`` of the dispatcher before the citizen's leg exists:
    its call record begins with its first event (when an agent is rung for it)."""

    number: str
    direction: str
    journal: CallJournal
    attributes: dict[str, Any] = field(default_factory=dict)
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    channel_id: str = ""
    caller_name: str = ""
    opened: bool = False

    @property
    def caller_number(self) -> str:
        return self.number

    def event(self, type_: str, **data: Any) -> None:
        if not self.opened:
            self.opened = True
            self.journal.emit(self.call_id, ev.ARRIVED, {
                "channel_id": "", "caller_number": self.number, "caller_name": "", "dialed": self.number,
                "direction": self.direction, "args": [self.direction]})
            for name, value in self.attributes.items():
                self.journal.emit(self.call_id, ev.ATTRIBUTE_SET, {"name": name, "value": value})
            self.opening()
        self.journal.emit(self.call_id, type_, data)

    def opening(self) -> None:
        """What a record of this kind says first, after ``arrived``."""

    def next_record(self) -> None:
        """The next attempt is a call record of its own."""
        self.call_id = str(uuid.uuid4())
        self.opened = False

    def end_record(self, why: str) -> None:
        """Ends a record that never reached the citizen's leg (task closed, agent did not answer)."""
        if self.opened:
            self.journal.emit(self.call_id, ev.ENDED, {"by": "system", "cause": None, "cause_text": why})
            self.opened = False


@dataclass(eq=False, kw_only=True)
class Booking(PlacedCall):
    """A callback task in line."""

    task: TaskView
    waiter: Waiter | None = None
    serving: asyncio.Task[None] | None = None

    def opening(self) -> None:
        self.journal.emit(self.call_id, ev.CALLBACK_ATTEMPT, {
            "task_id": self.task.id, "n": self.task.attempts + 1, "origin": self.task.origin})


class CallbackDialer:
    def __init__(self, *, service: QueueService, handoff: QueueHandoff, outbound: OutboundDialer,
                 callbacks: CallbackService, journal: CallJournal, sounds_dir: Path, card: CardFor,
                 ring_seconds: float, dial: bool = True) -> None:
        self.service = service
        self.handoff = handoff
        self.outbound = outbound
        self.callbacks = callbacks
        self.journal = journal
        self.sounds_dir = sounds_dir
        self.card = card
        self.ring_seconds = ring_seconds
        self.dial = dial
        self.bookings: dict[str, Booking] = {}
        callbacks.listeners.append(self)

    # -- the store's tasks -------------------------------------------------------------
    async def load(self) -> int:
        """Books every open task again (after a restart), each in its place."""
        tasks = await self.callbacks.recover()
        for task in tasks:
            self.task_open(task, settle=SETTLE_SECONDS)
        return len(tasks)

    def task_open(self, task: TaskView, *, settle: float = 0.0) -> None:
        """A new task, or a task that gained a reason (perhaps an earlier place): in line, in place,
        at once (a caller who chose a callback is replaced in line before leaving it)."""
        booking = self.bookings.get(task.id)
        if booking is not None:
            waiter = booking.waiter
            if waiter is not None and (task.entered_at, task.seq) < (waiter.caller.entered_at, waiter.caller.seq):
                waiter.caller = WaitingCaller(call_id=waiter.caller.call_id, queue=waiter.caller.queue,
                                              entered_at=task.entered_at, seq=task.seq, priority=task.priority)
                self.service.kick()
            return
        if not self.outbound.configured or not self.dial:
            log.warning("callback task %s waits: %s", task.id,
                        "the dialer is off (callbacks.dial)" if self.outbound.configured else "no outbound trunk")
            return
        settings = self._settings(task.queue)
        if settings is None:
            log.error("callback task %s: no queue %r to serve it and no general queue", task.id, task.queue)
            return
        booking = Booking(number=task.number, direction="callback", journal=self.journal, task=task)
        self.bookings[task.id] = booking
        loop = asyncio.get_running_loop()
        delay = settle
        if task.next_attempt_at is not None:
            delay = max(delay, (task.next_attempt_at - self.service.clock()).total_seconds())
        caller = WaitingCaller(call_id=f"callback:{task.id}", queue=settings.name, entered_at=task.entered_at,
                               seq=task.seq, priority=task.priority)
        booking.waiter = self.service.enter(booking, settings, caller, None, kind="callback", pop=task_pop(task),
                                            not_before=loop.time() + delay)
        booking.serving = asyncio.ensure_future(self._serve(booking, booking.waiter))
        booking.serving.add_done_callback(functools.partial(self._served, booking))

    def task_closed(self, task_id: str) -> None:
        booking = self.bookings.get(task_id)
        if booking is None or booking.waiter is None:
            return
        if booking.waiter.connected is None and booking.serving is not None and booking.waiter.caller.call_id in self.service.waiting:
            # Closed while in line (expired, cancelled): out of the line, its ringing stopped.
            self._unbook(booking, "callback task closed")

    def _unbook(self, booking: Booking, why: str) -> None:
        """Takes a booking waiting in line out of it (its ringing stopped) and stops serving it."""
        assert booking.waiter is not None and booking.serving is not None
        self.service.leave(booking.waiter, ev.LEFT_SYSTEM)
        booking.end_record(why)
        booking.serving.cancel()

    def _served(self, booking: Booking, _task: object) -> None:
        if self.bookings.get(booking.task.id) is booking:  # not the hold an agent's own call took since
            del self.bookings[booking.task.id]

    def _settings(self, queue: str) -> QueueSettings | None:
        return self.service.settings(queue) or self.service.settings("general")

    # -- an agent's own call of a task (click-to-dial) ---------------------------------
    def hold(self, task: TaskView, *, call_id: str, direction: str, attributes: dict[str, Any]) -> Booking:
        """Takes ``task`` for an agent's own call: out of the line, and booked by nobody else, until
        ``release``. The booking returned is that call's party; ``attempt`` with it records the try
        as the dispatcher's are. ``Conflict`` when an agent is being rung for the task or it is being
        dialled now (by the dispatcher, or another agent's own call holds it)."""
        booking = self.bookings.get(task.id)
        if booking is not None:
            waiter = booking.waiter
            if (waiter is None or waiter.rings or waiter.connected is not None or waiter.answered.done()
                    or waiter.caller.call_id not in self.service.waiting):
                raise Conflict(f"callback task {task.id} is being dialled by another call",
                               text="该回拨任务正在呼叫中，请稍后再试")
            self._unbook(booking, "callback task taken by an agent's own call")
        held = Booking(number=task.number, direction=direction, journal=self.journal, task=task,
                       attributes=attributes, call_id=call_id)
        self.bookings[task.id] = held
        return held

    async def release(self, booking: Booking) -> None:
        """The agent's own call of a held task is over: the task, if still pending, is back in line
        at its place, offered again from its next attempt time (the retry gap after a try)."""
        self.drop(booking)
        try:
            task = await self.callbacks.pending(booking.task.id)
        except (NotFound, Conflict):
            return  # closed by the try, or meanwhile
        except OUTAGE_ERRORS as exc:
            # The store is down: back in line as last known, tried later (a closed task's try ends at once).
            log.error("callback task %s: not read after an agent's call (%s); trying it again later",
                      booking.task.id, exc)
            task = replace(booking.task, next_attempt_at=self.service.clock() + timedelta(seconds=30))
        self.task_open(task)

    def drop(self, booking: Booking) -> None:
        """Forgets a hold without putting the task back in line (the daemon stops)."""
        if self.bookings.get(booking.task.id) is booking:
            del self.bookings[booking.task.id]

    # -- serving one task --------------------------------------------------------------
    async def _serve(self, booking: Booking, waiter: Waiter) -> None:
        loop = asyncio.get_running_loop()
        try:
            if waiter.card is None:
                waiter.card = await self._card(booking)
            while True:
                ring = await waiter.answered
                next_at = await self.attempt(booking, ring)
                if next_at is None:
                    return
                booking.next_record()
                waiter.pop["callback"]["attempt"] = booking.task.attempts + 1
                wait = max(0.0, (next_at - self.service.clock()).total_seconds())
                self.service.put_back(waiter, not_before=loop.time() + wait)
        except asyncio.CancelledError:
            if waiter.caller.call_id in self.service.waiting:
                self.service.waiting.pop(waiter.caller.call_id, None)
            booking.end_record("daemon stopped")
            raise

    async def attempt(self, booking: Booking, ring: Ring) -> datetime | None:
        """One try at the task: ``ring``'s agent picked up (rung by the dispatcher for the booking in
        line, or by their own click-to-dial for a held one); dial the citizen, and record the attempt
        and its outcome on the task. When the next try may start (None: the task is closed)."""
        try:
            return await self._attempt(booking, ring)
        except OUTAGE_ERRORS as exc:
            # The store is down: the attempt is tried again later; the task is not lost.
            log.error("callback task %s: attempt not recorded (%s); trying again later", booking.task.id, exc)
            self.service.agent_leg_done(ring, talked=False, wrap_up=0.0)
            return self.service.clock() + timedelta(seconds=30)

    async def _attempt(self, booking: Booking, ring: Ring) -> datetime | None:
        task = booking.task
        self.service.leave(ring.waiter, ev.LEFT_ANSWERED)  # the booking's line (an agent's own ring has none)
        started = await self.callbacks.start_attempt(task.id, call_id=booking.call_id, agent=ring.agent)
        if started is None:  # closed meanwhile (expired, cancelled, reached by another way)
            self.service.agent_leg_done(ring, talked=False, wrap_up=0.0)
            booking.end_record("callback task closed")
            return None
        attempt_id, n = started
        booking.task = replace(task, attempts=n - 1)
        citizen = self.outbound.open(call_id=booking.call_id, number=task.number, direction=booking.direction,
                                     arrived=False)

        async def reached() -> None:
            await self.callbacks.reached(task.id, attempt_id, agent=ring.agent)

        result = await self.connect(ring, citizen, ring.waiter.settings, on_answer=reached)
        if result.answered:
            await self.callbacks.finish_attempt(attempt_id)
            return None
        outcome = "agent_gone" if result.reason == "agent_gone" else result.reason
        return await self.callbacks.attempt_ended(task.id, attempt_id, outcome, cause=result.cause)

    async def connect(self, ring: Ring, citizen: CallSession, settings: QueueSettings,
                      on_answer: Callable[[], Awaitable[None]] | None = None) -> DialResult:
        """The agent is on the line: dial the citizen, then bridge the two until one hangs up, or tell
        the agent the citizen was not reached. ``on_answer`` runs when the citizen picks up."""
        to_agent = asyncio.ensure_future(self._tell_agent(ring, DIALLING_TEXT))
        result = await self.outbound.dial(citizen, timeout=self.ring_seconds)
        to_agent.cancel()
        if result.answered and ring.gone.is_set():
            # The agent left while the phone rang: the citizen is not left alone on the line.
            await citizen.hangup("normal")
            self.service.agent_leg_done(ring, talked=False, wrap_up=0.0)
            return DialResult("agent_gone")
        if not result.answered:
            if not ring.gone.is_set():
                await self._tell_agent(ring, NOT_REACHED_TEXT)
            self.service.agent_leg_done(ring, talked=False, wrap_up=0.0)
            return result
        if on_answer is not None:
            await on_answer()
        await self.handoff.converse(citizen, ring, settings)
        return result

    async def _tell_agent(self, ring: Ring, text: str) -> None:
        try:
            path = await ensure_prompt(text, self.sounds_dir)
        except PromptError as exc:
            log.error("prompt for the agent not synthesized: %s", exc)
            return
        await self.service.play_to_agent(ring, f"sound:{path}")

    async def _card(self, booking: Booking) -> CallerCard | None:
        try:
            return await asyncio.wait_for(self.card(booking.call_id, booking.task.number), 2.0)
        except Exception as exc:  # noqa: BLE001 - a screen pop without history still rings the agent
            log.warning("callback %s: screen pop card without history (%s)", booking.task.id, type(exc).__name__)
            return None

    async def close(self) -> None:
        for booking in list(self.bookings.values()):
            if booking.serving is not None:
                booking.serving.cancel()
        tasks = [b.serving for b in self.bookings.values() if b.serving is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
