"""Recording a call (T-9): the ``Recorder`` the queues' talk step calls.

A conversation is recorded by Asterisk's MixMonitor on the caller's channel, started and stopped
over AMI, with the option ``b`` (write only while the channel is bridged). Not by recording the
bridge over ARI (``POST /bridges/{id}/record``): that adds a third participant, so the two-party
bridge becomes a mixing (softmix) bridge whose timer thread makes one frame per 20 ms tick for
each participant, and a tick missed while Asterisk is short of CPU is never made up: measured
(bench/RESULTS.md, issue 10) 13-17 CPU-ms per second of talk per call and recordings a few percent
short from about 100 concurrent calls. MixMonitor is an audiohook: the bridge stays two-party, and
the file gets every frame that passed the channel, whenever the thread writing it gets the CPU.

``start`` returns at once: the MixMonitor action, and the row saying a recording exists, run in the
recorder's own tasks, so a slow or refusing Asterisk never delays the conversation. ``stop`` returns
at once too: StopMixMonitor closes the file before Asterisk answers it (app_mixmonitor's
``stop_mixmonitor_full``); when the caller hung up first, Asterisk closes it as the channel goes,
and the recorder waits for the WAV header to be completed (Asterisk writes the sizes only at close).
The file is then measured off the event loop and the row completed. Every failure is logged and
stored on the row; none reaches the call.

``run_once`` (a periodic job) completes the rows no ``stop`` completed: a daemon restarted during a
conversation leaves MixMonitor running in Asterisk (it ends with the channel) and the row open.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select

from callcore.ami.errors import AmiError, AmiNotConnected
from callcore.ami.types import AmiMessage
from callcore.ari.errors import AriError, AriNotFound, AriUnavailable
from callcore.core.tasks import TaskSet
from callcore.recordings import audio
from callcore.recordings.models import DONE, FAILED, RECORDING, Recording
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

FORMAT = "wav"
# Seconds ``stop`` waits for Asterisk to close the file before measuring what is there.
FINISH_TIMEOUT = 10.0
POLL_SECONDS = 0.2
# Tries (and the pause before each retry) to write a row while the database is away.
STORE_RETRY_DELAYS = (1.0, 3.0, 10.0)
# Where MixMonitor writes, as Asterisk sees it: a relative file is resolved against its monitor
# directory (astspooldir/monitor), so this is its recording directory (astspooldir/recording), the
# folder the daemon knows as ``directory``, wherever either side has it mounted.
ASTERISK_DIR = "../recording"
# A row still ``recording`` this long after its start, with its channel gone, is completed by the sweep.
SWEEP_GRACE = timedelta(seconds=30)


async def wait_closed(path: Path, *, timeout: float, poll: float = POLL_SECONDS) -> bool:
    """Until Asterisk has closed the WAV file at ``path`` (its header holds the sizes), or ``timeout``;
    either way what is on disk is measured next. True if it was closed in time."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await asyncio.to_thread(audio.wav_closed, path):
            return True
        if asyncio.get_running_loop().time() >= deadline:
            log.warning("recording %s still open after %.0f s; measuring what is there", path.name, timeout)
            return False
        await asyncio.sleep(poll)


class RecordingAmi(Protocol):
    """What the recorder needs of ``callcore.ami.client.AmiClient``."""

    async def action(self, action: Mapping[str, str], *, timeout: float | None = None) -> list[AmiMessage]: ...


class RecordingAri(Protocol):
    """What the sweep needs of ``callcore.ari.client.AriClient``: is the recorded channel still up."""

    async def get_channel(self, channel_id: str) -> Any: ...


@dataclass(kw_only=True, eq=False)
class Live:
    """A recording this daemon started and has not finished."""

    id: str
    call_id: str
    name: str
    channel_id: str
    bridge_id: str
    agent: str | None
    queue: str | None
    path: Path
    started_at: datetime
    monitor_id: str = ""  # MixMonitor's id, as Asterisk answered the start
    begun: asyncio.Task[bool] | None = field(default=None, repr=False)


class Recorder:
    def __init__(self, *, ami: RecordingAmi, ari: RecordingAri, db: Database, directory: Path,
                 finish_timeout: float = FINISH_TIMEOUT) -> None:
        """``directory`` is where Asterisk writes recordings (its ``astspooldir``/recording), shared with it."""
        self.ami = ami
        self.ari = ari
        self.db = db
        self.directory = directory
        self.finish_timeout = finish_timeout
        self.live: dict[str, Live] = {}  # by call id
        self._finishing: set[str] = set()  # recording ids
        self.tasks = TaskSet("recording")

    # -- the call's side ---------------------------------------------------------------
    async def start(self, *, call_id: str, channel_id: str, bridge_id: str = "", agent: str | None = None,
                    queue: str | None = None) -> str | None:
        """Starts recording both parties as heard on ``channel_id`` (the citizen's leg, in the bridge
        ``bridge_id``); returns the recording's id, or None when the call is being recorded already.
        Never raises for Asterisk or the store."""
        if call_id in self.live:
            log.warning("call %s is already being recorded", call_id)
            return None
        rec_id = str(uuid.uuid4())
        name = f"call-{call_id}-{rec_id[:8]}"
        live = Live(id=rec_id, call_id=call_id, name=name, channel_id=channel_id, bridge_id=bridge_id, agent=agent,
                    queue=queue, path=self.directory / f"{name}.{FORMAT}", started_at=utcnow())
        self.live[call_id] = live
        live.begun = self.tasks.spawn(self._begin(live), name=f"recording-start-{call_id}")
        return rec_id

    async def stop(self, *, call_id: str) -> None:
        """Ends the call's recording; the file is measured and the row completed in the background."""
        live = self.live.pop(call_id, None)
        if live is None:
            return
        self._finishing.add(live.id)
        self.tasks.spawn(self._finish(live, utcnow()), name=f"recording-stop-{call_id}")

    async def close(self, timeout: float = 5.0) -> None:
        """Lets recordings being finished complete for a moment, then cancels them (the sweep of the
        next daemon completes their rows)."""
        try:
            await asyncio.wait_for(self._drain(), timeout)
        except TimeoutError:
            log.warning("%d recording(s) not finished at shutdown: the next daemon's sweep completes them",
                        len(self.tasks))
        await self.tasks.cancel_all()

    async def _drain(self) -> None:
        while len(self.tasks):
            await asyncio.sleep(0.05)

    # -- the work ----------------------------------------------------------------------
    async def _begin(self, live: Live) -> bool:
        action = {"Action": "MixMonitor", "Channel": live.channel_id, "Options": "b",
                  "File": f"{ASTERISK_DIR}/{live.path.name}"}
        try:
            [answer, *_] = await self.ami.action(action)
        except AmiError as exc:
            log.error("call %s is not recorded: Asterisk refused the recording: %s", live.call_id, exc)
            await self._store(live, status=FAILED, missing=True, error=str(exc)[:256], ended_at=utcnow())
            return False
        live.monitor_id = answer.get("MixMonitorID", "")
        await self._store(live, status=RECORDING)
        return True

    async def _finish(self, live: Live, ended_at: datetime) -> None:
        try:
            if live.begun is None or not await live.begun:
                return
            stop = {"Action": "StopMixMonitor", "Channel": live.channel_id}
            if live.monitor_id:
                stop["MixMonitorID"] = live.monitor_id
            try:
                await self.ami.action(stop)
            except AmiNotConnected as exc:
                log.warning("recording %s not stopped (%s): it ends with the channel", live.name, exc)
            except AmiError:
                pass  # the channel is gone already: Asterisk closes the file as it goes
            await wait_closed(live.path, timeout=self.finish_timeout)
            await self._complete(live.id, live.path, ended_at, live=live)
        finally:
            self._finishing.discard(live.id)

    async def _complete(self, rec_id: str, path: Path, ended_at: datetime, *, live: Live | None = None) -> None:
        error: str | None = None
        facts: audio.FileFacts | None = None
        try:
            facts = await asyncio.to_thread(audio.measure, path)
        except FileNotFoundError:
            error = f"file not found: {path}"
            log.error("recording %s: %s", rec_id, error)
        except (OSError, audio.AudioFileError) as exc:
            error = str(exc)[:256]
            log.error("recording %s not measured: %s", rec_id, exc)
        values: dict[str, Any] = {"status": DONE, "ended_at": ended_at, "missing": facts is None, "error": error}
        if facts is not None:
            values.update(duration=facts.duration, size=facts.size, sha256=facts.sha256)
        if live is not None:
            await self._store(live, **values)
        else:
            await self._update(rec_id, values)

    # -- the store ---------------------------------------------------------------------
    async def _store(self, live: Live, **values: Any) -> None:
        """Creates or completes the row of ``live`` (the start's write may have failed while the database was away)."""
        async def write() -> None:
            async with self.db.session() as s:
                row = await s.get(Recording, live.id)
                if row is None:
                    row = Recording(id=live.id, call_id=live.call_id, name=live.name, channel_id=live.channel_id,
                                    bridge_id=live.bridge_id, agent=live.agent, queue=live.queue,
                                    path=str(live.path), format=FORMAT, started_at=live.started_at, missing=False)
                    s.add(row)
                for key, value in values.items():
                    setattr(row, key, value)

        await self._retrying(write, live.id)

    async def _update(self, rec_id: str, values: dict[str, Any]) -> None:
        async def write() -> None:
            async with self.db.session() as s:
                row = await s.get(Recording, rec_id)
                if row is not None:
                    for key, value in values.items():
                        setattr(row, key, value)

        await self._retrying(write, rec_id)

    async def _retrying(self, write: Any, rec_id: str) -> None:
        for delay in (*STORE_RETRY_DELAYS, None):
            try:
                await write()
                return
            except OUTAGE_ERRORS as exc:
                if delay is None:
                    log.error("recording %s not stored (database unavailable: %s); the sweep retries", rec_id, exc)
                    return
                log.warning("recording %s not stored (%s), %d s to retry", rec_id, exc, delay)
                await asyncio.sleep(delay)

    # -- the sweep (a periodic job) ----------------------------------------------------
    async def run_once(self) -> int:
        """Completes rows left ``recording`` by a daemon that stopped or lost its finishing task, once
        their channel is gone (MixMonitor ends with it and Asterisk closes the file)."""
        mine = {live.id for live in self.live.values()} | self._finishing
        before = utcnow() - SWEEP_GRACE
        async with self.db.session() as s:
            rows = list(await s.scalars(
                select(Recording).where(Recording.status == RECORDING, Recording.started_at < before).limit(100)))
        done = 0
        for row in rows:
            if row.id in mine:
                continue
            if row.channel_id:
                try:
                    await self.ari.get_channel(row.channel_id)
                    continue  # still talking (a conversation that outlived a restart)
                except AriNotFound:
                    pass
                except AriUnavailable:
                    return done
                except AriError as exc:
                    log.warning("recording %s: channel not read (%s)", row.name, exc)
                    continue
            path = Path(row.path)
            # The channel is gone: the file is closed, or never will be (Asterisk stopped); measure it now.
            await wait_closed(path, timeout=0)
            ended = await asyncio.to_thread(_mtime, path)
            await self._complete(row.id, path, ended or utcnow())
            done += 1
        return done


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return None
