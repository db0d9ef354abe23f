"""Reconciliation after an ARI (re)connect, against a fake ARI and the real store (SQLite and PostgreSQL):
channels parked in the app are resumed on their call row, calls whose channel is gone are closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from callcore.ari.client import AriClient
from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.fallback import FallbackImporter
from callcore.calls.journal import CallJournal
from callcore.calls.models import Call
from callcore.calls.reconcile import Reconciler
from callcore.calls.session import CallSession
from callcore.calls.stasis import StasisApp
from callcore.store.db import Database
from tests.polling import until
from tests.ari.fake_ari import FakeAri

FALLBACK = ("from-trunk", "96881", "fallback")
PARKED = "callcore,inbound,route=normal"


class Gate:
    """A flow that records its sessions and waits (until shutdown cancels it)."""

    def __init__(self) -> None:
        self.sessions: list[CallSession] = []

    async def __call__(self, session: CallSession) -> None:
        self.sessions.append(session)
        await asyncio.Event().wait()



@dataclass
class Stack:
    db: Database
    fake: FakeAri
    journal: CallJournal
    stasis: StasisApp
    reconcile: Reconciler
    inbound: Gate
    callback: Gate
    mailbox: Path

    async def idle(self) -> None:
        await asyncio.wait_for(self.journal.wait_idle(), 10)

    async def stored_call(self, channel_id: str, *, ended: bool = False, number: str = "13800138000") -> str:
        """A call the daemon journaled before it went away (answered; ended too if ``ended``)."""
        call_id = self.journal.new_call_id()
        self.journal.emit(call_id, ev.ARRIVED, {"channel_id": channel_id, "caller_number": number, "caller_name": "",
                                                "dialed": "96881", "direction": "inbound"})
        self.journal.emit(call_id, ev.ANSWERED, {"by": "dialplan"})
        if ended:
            self.journal.emit(call_id, ev.ENDED, {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"})
        await self.idle()
        return call_id

    async def call(self, call_id: str) -> tuple[Call, list[tuple[str, dict[str, Any]]]]:
        found = await queries.get_call(self.db, call_id)
        assert found is not None, f"no call {call_id} in the store"
        call, events = found
        return call, [(e.type, e.data) for e in events]

    async def calls(self) -> list[Call]:
        rows, total = await queries.list_calls(self.db, queries.CallFilter(limit=100))
        assert len(rows) == total
        return rows


@pytest.fixture
async def stack(db: Database, tmp_path: Path) -> AsyncIterator[Stack]:
    fake = FakeAri()
    await fake.start()
    ari = AriClient(f"http://127.0.0.1:{fake.port}/ari", "callcore", "s3cret-pass", "callcore")
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    writer = asyncio.create_task(journal.run())
    stasis = StasisApp(ari=ari, journal=journal, fallback=FALLBACK)
    inbound, callback = Gate(), Gate()
    stasis.handle("inbound", inbound)
    stasis.handle("callback", callback)
    mailbox = tmp_path / "mailbox"
    (mailbox / "INBOX").mkdir(parents=True)
    importer = FallbackImporter(db, journal, mailbox, hotline="96881")
    reconciler = Reconciler(ari=ari, db=db, journal=journal, stasis=stasis, fallback=importer)
    try:
        yield Stack(db, fake, journal, stasis, reconciler, inbound, callback, mailbox)
    finally:
        await stasis.shutdown(hand_off=False)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await ari.close()
        await fake.stop()


async def test_a_parked_channel_with_an_active_call_continues_that_call(stack: Stack) -> None:
    call_id = await stack.stored_call("c1")
    stack.fake.add_channel("c1", app_data=PARKED)
    await stack.reconcile()
    await until(lambda: bool(stack.inbound.sessions), "the resumed flow")
    [session] = stack.inbound.sessions
    assert session.call_id == call_id and session.resumed and session.answered
    assert stack.stasis.sessions == {"c1": session} and stack.callback.sessions == []
    await stack.idle()
    call, events = await stack.call(call_id)
    assert [t for t, _ in events] == [ev.ARRIVED, ev.ANSWERED, ev.RECONCILED]
    assert events[-1][1] == {"action": "resumed", "channel_state": "Up"}
    assert call.status == "active" and call.channel_id == "c1"
    assert [c.id for c in await stack.calls()] == [call_id]


async def test_a_parked_channel_without_a_call_becomes_a_new_call(stack: Stack) -> None:
    stack.fake.add_channel("c1", app_data=PARKED, state="Ring", number="13911112222", name="李四")
    await stack.reconcile()
    await until(lambda: bool(stack.inbound.sessions), "the resumed flow")
    [session] = stack.inbound.sessions
    assert session.resumed and not session.answered
    await stack.idle()
    call, events = await stack.call(session.call_id)
    assert [t for t, _ in events] == [ev.ARRIVED, ev.RECONCILED]
    assert events[-1][1] == {"action": "resumed", "channel_state": "Ring"}
    assert (call.channel_id, call.caller_number, call.caller_name, call.dialed, call.direction, call.status) == (
        "c1", "13911112222", "李四", "96881", "inbound", "active")
    assert len(await stack.calls()) == 1


async def test_a_channel_whose_stored_call_ended_starts_a_new_call(stack: Stack) -> None:
    old = await stack.stored_call("c1", ended=True)
    stack.fake.add_channel("c1", app_data=PARKED)
    await stack.reconcile()
    await until(lambda: bool(stack.inbound.sessions), "the resumed flow")
    [session] = stack.inbound.sessions
    assert session.call_id != old
    await stack.idle()
    _, events = await stack.call(session.call_id)
    assert [t for t, _ in events] == [ev.ARRIVED, ev.RECONCILED]
    old_call, old_events = await stack.call(old)
    assert old_call.status == "ended" and [t for t, _ in old_events] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]


async def test_a_resumed_channel_runs_the_flow_of_its_kind(stack: Stack) -> None:
    stack.fake.add_channel("c1", app_data="callcore,callback,ticket=42")
    stack.fake.add_channel("c2", app_data="callcore")  # an older dialplan: no argument
    await stack.reconcile()
    await until(lambda: bool(stack.callback.sessions and stack.inbound.sessions), "both flows")
    assert [s.channel_id for s in stack.callback.sessions] == ["c1"]
    assert [s.channel_id for s in stack.inbound.sessions] == ["c2"]


async def test_a_resumed_channel_of_an_unhandled_kind_goes_to_the_fallback(stack: Stack) -> None:
    stack.fake.add_channel("c1", app_data="callcore,agent")
    await stack.reconcile()
    await until(lambda: bool(stack.fake.sent("POST", "channels/c1/continue")), "the hand-off")
    await until(lambda: not stack.stasis.sessions, "the call's end")
    await stack.idle()
    [call] = await stack.calls()
    _, events = await stack.call(call.id)
    assert [t for t, _ in events] == [ev.ARRIVED, ev.RECONCILED, ev.HANDED_OFF, ev.ENDED]
    assert call.status == "ended" and call.hangup_by == "system"


async def test_a_resumed_channel_keeps_its_stasis_arguments(stack: Stack) -> None:
    # What StasisStart gives a flow (session.attributes["args"], e.g. route=after_hours for the IVR; the
    # call's direction in ``arrived``), a channel resumed after a restart must give it too.
    stack.fake.add_channel("c1", app_data="callcore,inbound,route=normal")
    stack.fake.add_channel("c2", app_data="callcore,callback,ticket=42")
    await stack.reconcile()
    await until(lambda: bool(stack.inbound.sessions and stack.callback.sessions), "both flows")
    [inbound], [callback] = stack.inbound.sessions, stack.callback.sessions
    await stack.idle()
    _, events = await stack.call(callback.call_id)
    arrived = dict(events)[ev.ARRIVED]
    seen = {"inbound args": inbound.attributes.get("args"), "callback args": callback.attributes.get("args"),
            "arrived direction": arrived.get("direction"), "arrived args": arrived.get("args")}
    assert seen == {"inbound args": ["inbound", "route=normal"], "callback args": ["callback", "ticket=42"],
                    "arrived direction": "callback", "arrived args": ["callback", "ticket=42"]}


async def test_channels_not_parked_in_the_app_are_left_alone(stack: Stack) -> None:
    stack.fake.add_channel("other-app", app_data="elsewhere,inbound")
    stack.fake.add_channel("in-dialplan", app_name="VoiceMail", app_data="96881@callcore")
    await stack.reconcile()
    await stack.idle()
    assert stack.stasis.sessions == {} and stack.inbound.sessions == []
    assert await stack.calls() == []


async def test_a_session_whose_channel_vanished_while_disconnected_is_closed(stack: Stack) -> None:
    stack.stasis.on_event({"type": "StasisStart", "args": ["inbound", "route=normal"],
                           "channel": stack.fake.add_channel("c1", app_data=PARKED)})
    await until(lambda: bool(stack.inbound.sessions), "the flow")
    [session] = stack.inbound.sessions
    await stack.idle()
    del stack.fake.live["c1"]  # the caller hung up while the event socket was down
    await stack.reconcile()
    assert session.gone and stack.stasis.sessions == {}
    await stack.idle()
    call, events = await stack.call(session.call_id)
    assert [t for t, _ in events] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]  # closed once, not again from the store
    assert events[-1][1] == {"by": "system", "cause": None, "cause_text": "channel gone while ARI was disconnected"}
    assert (call.status, call.hangup_by) == ("ended", "system")


async def test_a_session_whose_channel_is_still_there_is_kept(stack: Stack) -> None:
    stack.stasis.on_event({"type": "StasisStart", "args": ["inbound"],
                           "channel": stack.fake.add_channel("c1", app_data="callcore,inbound")})
    await until(lambda: bool(stack.inbound.sessions), "the flow")
    await stack.reconcile()
    await stack.idle()
    [session] = stack.inbound.sessions  # not resumed a second time
    assert stack.stasis.sessions == {"c1": session} and not session.gone
    call, events = await stack.call(session.call_id)
    assert call.status == "active" and ev.RECONCILED not in [t for t, _ in events]


async def test_calls_the_store_shows_active_without_a_channel_are_closed(stack: Stack) -> None:
    gone = await stack.stored_call("gone-chan")
    ended = await stack.stored_call("old-chan", ended=True)
    await stack.reconcile()
    await stack.idle()
    call, events = await stack.call(gone)
    assert events[-2:] == [
        (ev.RECONCILED, {"action": "closed", "reason": "channel ended while the daemon was away"}),
        (ev.ENDED, {"by": "unknown", "cause": None, "cause_text": "ended while the daemon was away"}),
    ]
    assert (call.status, call.hangup_by, call.hangup_cause_text) == ("ended", "unknown", "ended while the daemon was away")
    _, old_events = await stack.call(ended)
    assert [t for t, _ in old_events] == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]
    # A second reconnect finds nothing more to close.
    await stack.reconcile()
    await stack.idle()
    _, again = await stack.call(gone)
    assert again == events


async def test_an_unreachable_asterisk_closes_nothing(stack: Stack) -> None:
    call_id = await stack.stored_call("c1")
    stack.fake.add_channel("c1", app_data=PARKED)
    stack.fake.refuse("GET", "channels", 503)
    await stack.reconcile()
    await stack.idle()
    call, events = await stack.call(call_id)
    assert call.status == "active" and [t for t, _ in events] == [ev.ARRIVED, ev.ANSWERED]
    assert stack.stasis.sessions == {}


def voicemail(mailbox: Path, n: int, *, number: str, at: datetime, seconds: int = 7) -> None:
    """A message file as Asterisk 16's app_voicemail writes it."""
    path = mailbox / "INBOX" / f"msg{n:04d}.txt"
    path.write_text(
        "[message]\norigmailbox=96881\ncontext=from-trunk\nexten=96881\n"
        f"callerchan=PJSIP/citizen-trunk-0000000{n}\ncallerid=<{number}>\n"
        f"origtime={int(at.timestamp())}\nmsg_id={int(at.timestamp())}-0000000{n}\nduration={seconds}\n",
        encoding="utf-8",
    )


async def test_the_fallback_importer_runs_on_reconcile(stack: Stack) -> None:
    await stack.reconcile()  # empty mailbox: nothing
    await stack.idle()
    assert await stack.calls() == []
    voicemail(stack.mailbox, 0, number="13922220005", at=datetime(2026, 11, 24, 2, 0, 5, tzinfo=timezone.utc))
    await stack.reconcile()
    await stack.idle()
    [call] = await stack.calls()
    _, events = await stack.call(call.id)
    assert call.caller_number == "13922220005" and call.status == "ended"
    assert [t for t, _ in events] == [ev.ARRIVED, ev.ANSWERED, ev.VOICEMAIL_LEFT, ev.ENDED]
    assert dict(events)[ev.VOICEMAIL_LEFT]["via"] == "fallback"

