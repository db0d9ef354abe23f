"""The CDR ledger's rounds and the fallback import take turns (issue 15): a caller who left a message
with the dialplan's fallback while the daemon was away is one call in the store, not one from the
message and another from the call's CDR line.

Found by the resilience journey on the IVR flow: the ledger's periodic round runs as the daemon starts,
beside the first reconnect's import; a call's CDR line settled by then (the daemon came back more than
``SETTLE`` seconds after the caller hung up) was written by both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path

import pytest

from callcore.ari.client import AriClient
from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.fallback import FallbackImporter, FallbackMessage
from callcore.calls.journal import CallJournal
from callcore.calls.ledger import CdrLedger
from callcore.calls.models import Call
from callcore.calls.reconcile import Reconciler
from callcore.calls.stasis import StasisApp
from callcore.store.base import utcnow
from callcore.store.db import Database
from tests.ari.fake_ari import FakeAri
from tests.calls.test_fallback import message
from tests.calls.test_ledger import HOTLINE, cdr

CALLER = "13922220005"
CHANNEL = "PJSIP/citizen-trunk-00000000"  # the channel ``message(..., 0, ...)`` names


@pytest.fixture
async def parts(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Reconciler, CallJournal, FallbackImporter]]:
    fake = FakeAri()
    await fake.start()
    ari = AriClient(f"http://127.0.0.1:{fake.port}/ari", "callcore", "s3cret-pass", "callcore")
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    writer = asyncio.create_task(journal.run())
    stasis = StasisApp(ari=ari, journal=journal, fallback=(HOTLINE, "96881", "fallback"))
    importer = FallbackImporter(db, journal, tmp_path / "mailbox", hotline="96881")
    ledger = CdrLedger(path=tmp_path / "callcore.csv", offset_file=tmp_path / "cdr-ledger.offset", db=db,
                       journal=journal, context=HOTLINE)
    try:
        yield Reconciler(ari=ari, db=db, journal=journal, stasis=stasis, fallback=importer, ledger=ledger), journal, importer
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await ari.close()
        await fake.stop()


def fallback_call(tmp_path: Path) -> None:
    """What Asterisk leaves of a call the fallback took while the daemon was away: the message, and the
    channel's CDR line (settled: it ended a minute ago)."""
    (tmp_path / "callcore.csv").write_text(cdr("1796141499.8", ago=60, talk=18, src=CALLER, userfield="fallback",
                                               channel=CHANNEL))
    message(tmp_path / "mailbox", 0, callerid=f"<{CALLER}>", at=utcnow() - timedelta(seconds=66), duration=4)


async def calls_of(db: Database) -> list[Call]:
    rows, _ = await queries.list_calls(db, queries.CallFilter(caller=CALLER, limit=10))
    return list(rows)


async def test_no_ledger_round_before_the_first_import_and_the_message_is_one_call(
        db: Database, tmp_path: Path, parts: tuple[Reconciler, CallJournal, FallbackImporter]) -> None:
    reconciler, journal, _ = parts
    fallback_call(tmp_path)
    # The periodic round as the daemon starts, before ARI has connected: it leaves the line for later.
    assert await reconciler.run_once() == 0
    await asyncio.wait_for(journal.wait_idle(), 10)
    assert await calls_of(db) == []
    await reconciler()
    await asyncio.wait_for(journal.wait_idle(), 10)
    [call] = await calls_of(db)
    found = await queries.get_call(db, call.id)
    assert found is not None
    assert [e.type for e in found[1]] == [ev.ARRIVED, ev.ANSWERED, ev.VOICEMAIL_LEFT, ev.ENDED]
    assert found[1][0].data["via"] == "fallback" and call.channel_id == CHANNEL
    # Later rounds know the call by its channel's name: still one.
    assert await reconciler.run_once() == 0
    assert [c.id for c in await calls_of(db)] == [call.id]


async def test_a_periodic_round_waits_for_the_import_it_would_race(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        parts: tuple[Reconciler, CallJournal, FallbackImporter]) -> None:
    reconciler, journal, importer = parts
    await reconciler()  # the first reconnect: nothing to import yet
    fallback_call(tmp_path)
    looked_up, go_on = asyncio.Event(), asyncio.Event()
    real = importer._handed_off

    async def slow_look_up(messages: Iterable[FallbackMessage]) -> dict[str, str]:
        looked_up.set()
        await go_on.wait()
        return await real(messages)

    monkeypatch.setattr(importer, "_handed_off", slow_look_up)
    reconnect = asyncio.create_task(reconciler())
    await asyncio.wait_for(looked_up.wait(), 10)
    # A periodic round now, while the import is between its look-up and its writes.
    round_ = asyncio.create_task(reconciler.run_once())
    go_on.set()
    await asyncio.wait_for(asyncio.gather(reconnect, round_), 20)
    await asyncio.wait_for(journal.wait_idle(), 10)
    [call] = await calls_of(db)
    assert call.channel_id == CHANNEL and round_.result() == 0
