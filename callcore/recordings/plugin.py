"""The recordings capability (T-9, T-10): the ``Recorder`` the queues' talk step starts and stops,
the ``Voicemail`` that takes callers' messages (run by the queues' hand-off), the recordings' and
voicemails' API (lists, audio with ranges, MP3, deletion under retention, audit), the sweep that
completes recordings a stopped daemon left open, the messages the dialplan's fallback took joined to
the voicemail list, and the backup and voicemail PIN commands."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from callcore.ami.client import AmiClient
from callcore.api.router import Router
from callcore.ari.client import AriClient
from callcore.calls.reconcile import Reconciler
from callcore.config import Settings
from callcore.core.jobs import PeriodicJob
from callcore.plugin import Plugin
from callcore.recordings import http
from callcore.recordings.fallback import FallbackVoicemails
from callcore.recordings.recorder import Recorder
from callcore.recordings.services import RecordingService
from callcore.recordings.voicemail import Voicemail

# Seconds between sweeps for recordings left open (a restart mid-conversation).
SWEEP_SECONDS = 60.0


def recordings_dir(settings: Settings) -> Path:
    """Asterisk's recording directory: ``astspooldir`` (``<run_dir>/spool``, asterisk.conf.j2) + ``recording``."""
    return Path(settings.recordings.dir) if settings.recordings.dir else settings.run_dir / "spool" / "recording"


class RecordingsPlugin(Plugin):
    name = "recordings"
    models = ("callcore.recordings.models",)
    commands = "callcore.recordings.commands"

    def build(self) -> None:
        ctx = self.ctx
        self.directory = recordings_dir(ctx.settings)
        self.recorder = ctx.provide(Recorder(ami=ctx.get(AmiClient), ari=ctx.get(AriClient), db=ctx.db,
                                             directory=self.directory))
        ctx.provide(RecordingService(ctx.db, settings=ctx.settings.recordings))
        voicemail = ctx.provide(Voicemail(db=ctx.db, directory=self.directory,
                                          sounds_dir=ctx.settings.sounds_dir, settings=ctx.settings.recordings))
        if ctx.has(Reconciler):
            # The calls' fallback import (run by the reconciler at every ARI connect) hands us its messages.
            ctx.get(Reconciler).fallback.add_listener(
                FallbackVoicemails(db=ctx.db, directory=self.directory, voicemail=voicemail))

    async def start(self) -> None:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)

    async def stop(self) -> None:
        await self.recorder.close()

    def routers(self) -> Sequence[Router]:
        return (http.router,)

    def jobs(self) -> Sequence[PeriodicJob]:
        return (PeriodicJob(name="recordings-sweep", job=self.recorder, interval=SWEEP_SECONDS),)
