"""The citizens' lookup: status without personal data; the reply, masked, only with the phone."""

from __future__ import annotations

import pytest

from callcore.core.errors import NotFound
from callcore.tickets import public
from callcore.tickets.services import NewTicket, TicketService
from tests.tickets.conftest import AGENT


def test_phone_matches() -> None:
    assert public.phone_matches("13812345678", "13812345678")
    assert public.phone_matches("13812345678", "5678")
    assert not public.phone_matches("13812345678", "45678")
    assert not public.phone_matches("13812345678", None)
    assert not public.phone_matches("", "5678")


async def test_status(service: TicketService) -> None:
    t, _ = await service.create(AGENT, NewTicket(category="consultation", content="地点", phone="13812345678"))
    await service.act(AGENT, t.id, "answer", {"reply": "联系电话 13800001111"})
    view = await public.status(service.db, t.query_code)
    assert (view.status, view.status_text, view.category, view.reply) == ("closed", "已办结", "咨询", None)
    assert view.closed_on is not None and view.received_on <= view.closed_on
    assert (await public.status(service.db, t.query_code, "5678")).reply == "联系电话 138****1111"
    assert (await public.status(service.db, t.query_code, "0000")).reply is None
    with pytest.raises(NotFound):
        await public.status(service.db, "1" * 8 if t.query_code != "1" * 8 else "2" * 8)
