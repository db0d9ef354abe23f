"""T-11 on the queue's side: what the queue asks of callbacks when it offers one (``CallbackBooker``)."""

from __future__ import annotations

from callcore.callbacks.services import CallbackService
from callcore.core.errors import Conflict
from callcore.queues.services import Waiter


class CallbackOffers:
    def __init__(self, callbacks: CallbackService, *, offer_after: float) -> None:
        self.callbacks = callbacks
        self._offer_after = offer_after

    @property
    def offer_after(self) -> float:
        return self._offer_after

    def usable(self, number: str) -> bool:
        return self.callbacks.policy.usable(number)

    async def book(self, *, number: str, waiter: Waiter) -> str:
        """The task keeps the caller's queue, entry time, order and priority (its place in line)."""
        c = waiter.caller
        task_id = await self.callbacks.request(number=number, origin="offer", queue=c.queue, entered_at=c.entered_at,
                                               seq=c.seq, priority=c.priority, call_id=waiter.session.call_id)
        if task_id is None:
            raise Conflict("the number cannot be called back")
        return task_id
