"""After every ARI (re)connect: resume the channels parked in the app, close the calls that ended
while the daemon was away, and turn the messages left with the dialplan's fallback into calls.

Asterisk keeps a Stasis app's channels parked when the app disconnects; a restarted daemon finds
them here and continues the same call rows, so no call is lost or counted twice.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from callcore.ari.client import AriClient
from callcore.ari.errors import AriError
from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.fallback import FallbackImporter
from callcore.calls.journal import CallJournal
from callcore.calls.ledger import CdrLedger
from callcore.calls.models import Call
from callcore.calls.stasis import StasisApp
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, *, ari: AriClient, db: Database, journal: CallJournal, stasis: StasisApp,
                 fallback: FallbackImporter, ledger: CdrLedger | None = None) -> None:
        self.ari = ari
        self.db = db
        self.journal = journal
        self.stasis = stasis
        self.fallback = fallback
        self.ledger = ledger
        # The fallback import and the ledger's rounds run one at a time, and the periodic round only
        # after the first import: a round that read a fallback call's CDR line before the import (or
        # between its look-up and its writes) wrote the call from that line, and the import wrote it
        # again from its message: two rows for one call.
        self._ledger_turn = asyncio.Lock()
        self._imported = False

    async def __call__(self) -> None:
        try:
            channels = await self.ari.list_channels()
        except AriError as exc:
            log.warning("cannot list channels to reconcile: %s", exc)
            return
        stats = await self.stasis.reconcile(channels, self.call_id_of)
        stale = await self.close_stale_calls({c.id for c in channels})
        if stats["resumed"] or stats["vanished"] or stale:
            log.info("reconciled: %d resumed, %d vanished, %d closed from the store", stats["resumed"], stats["vanished"], stale)
        async with self._ledger_turn:
            # Messages callers left while the daemon was away (or after it handed them back) become calls.
            await self.fallback.run()
            self._imported = True
            if self.ledger is not None:
                # Then what Asterisk handled while the daemon heard nothing (its CDR), once the journal
                # has stored what the steps above wrote.
                await self.journal.wait_idle()
                await self.ledger.run_once()

    async def run_once(self) -> int:
        """The CDR ledger's periodic round (``PeriodicJob``): nothing before the first reconnect's
        fallback import, and never beside an import."""
        if self.ledger is None or not self._imported:
            return 0
        async with self._ledger_turn:
            return await self.ledger.run_once()

    async def call_id_of(self, channel_id: str) -> str | None:
        """The active call stored for a channel, so a resumed channel continues its row."""
        try:
            call = await queries.find_by_channel(self.db, channel_id)
        except OUTAGE_ERRORS:
            return None
        return call.id if call is not None and call.status == "active" else None

    async def close_stale_calls(self, live: set[str]) -> int:
        """Calls the store still shows active whose channel no longer exists ended while we were away."""
        await self.journal.wait_idle()
        try:
            async with self.db.session() as s:
                rows = (await s.execute(select(Call.id, Call.channel_id).where(Call.status == "active"))).all()
        except OUTAGE_ERRORS:
            return 0
        n = 0
        for call_id, channel_id in rows:
            if channel_id not in live and channel_id not in self.stasis.sessions:
                self.journal.emit(call_id, ev.RECONCILED, {"action": "closed", "reason": "channel ended while the daemon was away"})
                self.journal.emit(call_id, ev.ENDED, {"by": "unknown", "cause": None, "cause_text": "ended while the daemon was away"})
                n += 1
        return n
