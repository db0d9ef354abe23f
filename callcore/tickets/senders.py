"""Outbox senders: where notifications go. A log sender (development, tests) and an HTTP webhook
sender (an SMS gateway or the department's system) ship; others implement ``Sender.send``."""

from __future__ import annotations

import logging

import aiohttp

from callcore.core.privacy import scrub
from callcore.tickets.models import OutboxMessage
from callcore.tickets.outbox import SendError

log = logging.getLogger(__name__)


class LogSender:
    """Writes each message to the log, numbers masked (A-2)."""

    def __init__(self) -> None:
        self.sent: list[OutboxMessage] = []

    async def send(self, message: OutboxMessage) -> None:
        log.info("notify %s -> %s: %s", message.kind, scrub(message.recipient), scrub(message.body))
        self.sent.append(message)


class WebhookSender:
    """POSTs each message as JSON; any answer but 2xx, a timeout or a connection error is a retry."""

    def __init__(self, url: str, *, token: str = "", timeout: float = 5.0) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, message: OutboxMessage) -> None:
        body = {"id": message.id, "kind": message.kind, "recipient": message.recipient, "text": message.body,
                "ticket_id": message.ticket_id, "payload": message.payload}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as http:
                async with http.post(self.url, json=body, headers=self.headers) as resp:
                    if resp.status // 100 != 2:
                        raise SendError(f"webhook answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"webhook unreachable: {exc!r}") from exc
