"""What the journal's tests share: running the writer until everything is stored, and a database
that is down until the test says otherwise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from callcore.calls.events import CallEventRecord
from callcore.calls.journal import CallJournal


async def drain(journal: CallJournal) -> None:
    """Runs the writer until everything emitted is stored, then stops it and waits until it has stopped.

    Awaiting the cancelled writer matters: a writer still winding down would spool the next step's
    events (its shutdown keeps whatever is queued), and tests of the live path would then pass
    through the spool's replay instead (issue 15). Nothing may be left in the spool either.
    """
    task = asyncio.create_task(journal.run())
    try:
        await asyncio.wait_for(journal.wait_idle(), 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not journal.spooled, "the writer stopped with events in the spool"


class Outage:
    """The journal's database refuses every write (as an outage) while ``down``."""

    def __init__(self, journal: CallJournal, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = True
        self._write = journal.write
        monkeypatch.setattr(journal, "write", self.write)

    async def write(self, batch: Sequence[CallEventRecord], **kw: Any) -> None:
        if self.down:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        await self._write(batch, **kw)
