"""Click-to-dial (T-12): an agent calls a citizen from the console.

The daemon rings the agent's own phone first (the agent must be ready, so no queue call rings at
the same time); once the agent answers it dials the citizen through the trunk, and the two are
bridged and recorded like any call, with a call record (direction ``click_to_dial``), a timeline
and a screen pop. The number is checked against the dialling policy before anything rings.

A call may serve a callback task (the agent's "call back" on the task): it is then one attempt on
the task, made and recorded by the dialer's own ``attempt``, the task held out of the dialer's
line while it lasts (``CallbackDialer.hold``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from callcore.callbacks.dialer import Booking, CallbackDialer, CardFor, PlacedCall, task_pop
from callcore.calls.journal import CallJournal
from callcore.calls.outbound import NumberRefused, OutboundDialer
from callcore.core.errors import DomainError, InvalidInput
from callcore.core.identity import Principal
from callcore.queues.services import QueueService, Waiter
from callcore.queues.settings import QueueSettings
from callcore.tickets.services import TicketService

log = logging.getLogger(__name__)

# Seconds the agent's own phone rings before the click-to-dial is given up.
AGENT_RING_SECONDS = 20.0


class NoTrunk(DomainError):
    status = 503
    error_id = "no_outbound_trunk"


class NumberMismatch(InvalidInput):
    """The number asked for is not the callback task's: the task's own number is the one dialled."""

    error_id = "number_mismatch"


class ClickToDial:
    def __init__(self, *, service: QueueService, dialer: CallbackDialer, outbound: OutboundDialer,
                 journal: CallJournal, card: CardFor, tickets: TicketService, wrap_up: float = 10.0) -> None:
        self.service = service
        self.tickets = tickets
        self.dialer = dialer
        self.outbound = outbound
        self.journal = journal
        self.card = card
        self.settings = QueueSettings(name="click_to_dial", display_name="外呼", ring_timeout=AGENT_RING_SECONDS,
                                      wrap_up=wrap_up)
        self._tasks: set[asyncio.Task[None]] = set()

    async def originate(self, *, agent: str, who: Principal, number: str | None = None, ticket: str | None = None,
                        callback: str | None = None) -> str:
        """Rings ``agent``'s phone, then the citizen; the call's id. ``NumberRefused`` for a number
        the hotline may not dial, ``TicketNotFound`` for a ticket ``who`` cannot see, ``Conflict``
        when the agent cannot be rung now: each before anything rings or is stored.

        ``callback``: the task this call serves. Its number is dialled (``number`` may be left out;
        another is ``NumberMismatch``) and the call is an attempt on the task, recorded as the
        dialer records its own; the dialer does not dial the task meanwhile. ``NotFound`` for an
        unknown task, ``Conflict`` for one that is closed or being dialled now."""
        task = await self.dialer.callbacks.pending(callback) if callback else None
        if task is not None:
            if number is not None and not self._same(number, task.number):
                raise NumberMismatch(f"the number is not callback task {task.id}'s")
            number = task.number
        if number is None:
            raise InvalidInput("a number or a callback task is needed", text="请填写号码或选择回拨任务")
        number = self.outbound.policy.check(number)
        if not self.outbound.configured:
            raise NoTrunk("未配置外呼中继，无法外呼")
        call_id = str(uuid.uuid4())
        attributes: dict[str, Any] = {"requested_by": who.user_id}
        if ticket:
            attributes["ticket_id"] = (await self.tickets.get(who, ticket)).ticket.id  # unknown: nothing rings
        card = None
        try:
            card = await asyncio.wait_for(self.card(call_id, number), 1.0)
        except Exception as exc:  # noqa: BLE001 - the call goes on without the history
            log.warning("click-to-dial screen pop without history (%s)", type(exc).__name__)
        ticket_id = attributes.get("ticket_id")
        pop: dict[str, Any] = {"click_to_dial": {"ticket_id": ticket_id}}
        party: PlacedCall
        if task is not None:
            # From here to the ring nothing awaits: the hold and the ring are one step for the dialer.
            party = self.dialer.hold(task, call_id=call_id, direction="click_to_dial", attributes=attributes)
            pop.update(task_pop(task))
        else:
            party = PlacedCall(number=number, direction="click_to_dial", journal=self.journal, attributes=attributes,
                               call_id=call_id)
        try:
            waiter = self.service.ring_one(agent, party, self.settings, card, kind="click_to_dial", pop=pop)
        except DomainError:
            if isinstance(party, Booking):
                await self.dialer.release(party)
            raise
        task_run = asyncio.ensure_future(self._run(party, waiter))
        self._tasks.add(task_run)
        task_run.add_done_callback(self._tasks.discard)
        if ticket_id:
            await self.tickets.attach_call(who, ticket_id, party.call_id)
        return party.call_id

    def _same(self, given: str, number: str) -> bool:
        try:
            return self.outbound.policy.check(given) == number
        except NumberRefused:
            return False

    async def _run(self, party: PlacedCall, waiter: Waiter) -> None:
        try:
            await self._call(party, waiter)
        except asyncio.CancelledError:
            if isinstance(party, Booking):
                self.dialer.drop(party)  # the task is booked again at the next start
            raise
        except Exception:
            log.exception("click-to-dial %s failed", party.call_id)
        if isinstance(party, Booking):
            await self.dialer.release(party)

    async def _call(self, party: PlacedCall, waiter: Waiter) -> None:
        assert waiter.unanswered is not None
        racing: set[asyncio.Future[Any]] = {waiter.answered, waiter.unanswered}
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.answered.done():
            party.end_record(f"the agent's phone was not answered ({waiter.unanswered.result()})")
            return
        ring = waiter.answered.result()
        if isinstance(party, Booking):
            next_at = await self.dialer.attempt(party, ring)
            log.info("click-to-dial %s for callback task %s: %s", party.call_id, party.task.id,
                     "task closed" if next_at is None else f"next try from {next_at.isoformat()}")
            return
        citizen = self.outbound.open(call_id=party.call_id, number=party.number, direction="click_to_dial",
                                     arrived=False)
        result = await self.dialer.connect(ring, citizen, self.settings)
        log.info("click-to-dial %s: %s", party.call_id, result.reason)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
