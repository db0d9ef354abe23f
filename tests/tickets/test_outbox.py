"""The outbox: written with the event, delivered by the relay, retried with backoff while the sender
is down, delivered once with two relays."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.errors import BadTicketInput
from callcore.tickets.models import OutboxMessage
from callcore.tickets.outbox import OutboxRelay, SendError, backoff
from callcore.tickets.senders import LogSender, WebhookSender
from callcore.tickets.services import NewTicket, TicketService
from tests.tickets.conftest import AGENT, DISPATCHER


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[str] = []

    async def send(self, message: OutboxMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise SendError("gateway down")
        self.sent.append(message.id)


def test_backoff_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(40).total_seconds() == 3600


async def test_written_with_the_event_and_not_with_a_refused_one(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="x", phone="13800000000"))
    with pytest.raises(BadTicketInput, match="department_id"):
        await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "nope"})
    async with service.db.session() as s:
        assert list(await s.scalars(select(OutboxMessage.kind))) == ["citizen_received"]


async def test_retries_until_delivered(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="help", content="x", phone="13800000000"))
    await service.act(DISPATCHER, t.id, "dispatch", {"mode": "transfer", "department_id": "dep-a"})
    sender = FlakySender(failures=3)
    relay = OutboxRelay(service.db, sender)
    now = utcnow()
    assert await relay.run_once(now) == 0 and await relay.pending() == 2
    assert await relay.run_once(now + timedelta(seconds=1)) == 0  # backing off
    assert await relay.run_once(now + timedelta(seconds=6)) == 1  # one more failure, then one sent
    assert await relay.run_once(now + timedelta(minutes=5)) == 1
    assert await relay.pending() == 0 and len(sender.sent) == 2
    async with service.db.session() as s:
        attempts = sorted(await s.scalars(select(OutboxMessage.attempts)))
    assert attempts == [2, 3]


async def test_two_relays_deliver_once(db: Database, service: TicketService) -> None:
    for i in range(10):
        await service.create(AGENT, NewTicket(category="help", content=f"x{i}", phone=f"1380000000{i}"))
    other_db = Database(db.url)
    a, b = LogSender(), LogSender()
    try:
        now = utcnow() + timedelta(seconds=1)
        await asyncio.gather(OutboxRelay(db, a, batch=3).run_once(now), OutboxRelay(other_db, b, batch=3).run_once(now),
                             OutboxRelay(db, a, batch=4).run_once(now))
        await OutboxRelay(db, a).run_once(now)
    finally:
        await other_db.close()
    ids = [m.id for m in a.sent + b.sent]
    assert len(ids) == 10 and len(set(ids)) == 10
    async with db.session() as s:
        assert await s.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) == 0


async def test_webhook_sender() -> None:
    got: list[dict] = []  # type: ignore[type-arg]
    status = {"code": 503}

    async def hook(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=status["code"])

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        sender = WebhookSender(str(server.make_url("/hook")), token="t", timeout=2)
        msg = OutboxMessage(id="m1", kind="urge", recipient="13800000000", body="催办", ticket_id=None, payload={})
        with pytest.raises(SendError, match="503"):
            await sender.send(msg)
        status["code"] = 200
        await sender.send(msg)
    assert got[-1]["text"] == "催办" and got[-1]["recipient"] == "13800000000"
    with pytest.raises(SendError, match="unreachable"):
        await WebhookSender("http://127.0.0.1:9/hook", timeout=1).send(msg)
