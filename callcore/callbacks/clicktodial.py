"""Click-to-dial (T-12): an agent calls a citizen from the console.

The daemon rings the agent's own phone first (the agent must be ready, so no queue call rings at
the same time); once the agent answers it dials the citizen through the trunk, and the two are
bridged and recorded like any call, with a call record (direction ``click_to_dial``), a timeline
and a screen pop. The number is checked against the dialling policy before anything rings.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from callcore.callbacks.dialer import CallbackDialer, CardFor, PlacedCall
from callcore.calls.journal import CallJournal
from callcore.calls.outbound import OutboundDialer
from callcore.core.errors import DomainError
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

    async def originate(self, *, agent: str, number: str, who: Principal, ticket: str | None = None) -> str:
        """Rings ``agent``'s phone, then the citizen; the call's id. ``NumberRefused`` for a number
        the hotline may not dial, ``TicketNotFound`` for a ticket ``who`` cannot see, ``Conflict``
        when the agent cannot be rung now: each before anything rings or is stored."""
        number = self.outbound.policy.check(number)
        if not self.outbound.configured:
            raise NoTrunk("未配置外呼中继，无法外呼")
        party = PlacedCall(number=number, direction="click_to_dial", journal=self.journal,
                           attributes={"requested_by": who.user_id})
        if ticket:
            party.attributes["ticket_id"] = (await self.tickets.get(who, ticket)).ticket.id  # unknown: nothing rings
        card = None
        try:
            card = await asyncio.wait_for(self.card(party.call_id, number), 1.0)
        except Exception as exc:  # noqa: BLE001 - the call goes on without the history
            log.warning("click-to-dial screen pop without history (%s)", type(exc).__name__)
        ticket_id = party.attributes.get("ticket_id")
        waiter = self.service.ring_one(agent, party, self.settings, card, kind="click_to_dial",
                                       pop={"click_to_dial": {"ticket_id": ticket_id}})
        if ticket_id:
            await self.tickets.attach_call(who, ticket_id, party.call_id)
        task = asyncio.ensure_future(self._run(party, waiter))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return party.call_id

    async def _run(self, party: PlacedCall, waiter: Waiter) -> None:
        assert waiter.unanswered is not None
        racing: set[asyncio.Future[Any]] = {waiter.answered, waiter.unanswered}
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.answered.done():
            party.end_record(f"the agent's phone was not answered ({waiter.unanswered.result()})")
            return
        ring = waiter.answered.result()
        citizen = self.outbound.open(call_id=party.call_id, number=party.number, direction="click_to_dial",
                                     arrived=False)
        result = await self.dialer.connect(ring, citizen, self.settings)
        log.info("click-to-dial %s: %s", party.call_id, result.reason)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
