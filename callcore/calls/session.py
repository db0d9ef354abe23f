"""One call in the Stasis app: the verbs a call flow uses (answer, play, collect digits, record, hang up).

Flows (the welcome flow, the IVR engine) are plain coroutines over a ``CallSession``. Events
from ARI are fed in by the Stasis dispatcher; digits are buffered so a caller may key ahead.
Every step the caller experiences is written to the call's timeline through the journal.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from callcore.ari.client import AriClient
from callcore.ari.errors import AriNotFound, AriUnavailable
from callcore.asterisk import quirks
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal

log = logging.getLogger(__name__)


# The reasons ARI's DELETE /channels/{id} accepts (Asterisk 16 channels.json).
ARI_HANGUP_REASONS = frozenset({
    "normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
    "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure", "answered_elsewhere",
})


class CallerHungUp(Exception):
    """The caller left; flows let it propagate (the Stasis app records the end)."""


@dataclass(frozen=True, slots=True)
class CollectResult:
    digits: str
    # "terminator", "max_digits", "timeout" (nothing or not enough keyed in time)
    ended_by: str


@dataclass(frozen=True, slots=True)
class RecordResult:
    """How a recording of the caller ended. ``ended_by``: "finished" (the terminating key, silence or
    the maximum length), "failed" (Asterisk could not record; ``cause`` says why), "hangup" (the
    caller left: Asterisk ends the recording with the channel and keeps what was said)."""

    name: str
    ended_by: str
    cause: str = ""


class CallSession:
    def __init__(
        self, *, ari: AriClient, journal: CallJournal, call_id: str, channel_id: str, caller_number: str,
        caller_name: str = "", dialed: str = "", attributes: dict[str, Any] | None = None,
    ) -> None:
        self.ari = ari
        self.journal = journal
        self.call_id = call_id
        self.channel_id = channel_id
        self.caller_number = caller_number
        self.caller_name = caller_name
        self.dialed = dialed
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.answered = False
        # Set when the daemon picked the call up again after a disconnect (it was parked in Stasis).
        self.resumed = False
        # Left parked at shutdown instead of handed to the dialplan (a queued or connected caller).
        self.keep_parked = False
        self.hangup_by: str | None = None
        self.hangup_cause: int | None = None
        self.hangup_cause_text: str | None = None
        self.ended = False
        self._hangup_recorded = False
        self._gone = asyncio.Event()
        # An outbound channel (``StasisApp.expect``) enters the app when the far end answers.
        self._up = asyncio.Event()
        self._digits: asyncio.Queue[str] = asyncio.Queue()
        self._playbacks: dict[str, asyncio.Future[None]] = {}
        # When Asterisk started each playback the flow waits for (its clock, from PlaybackStarted).
        self._started_at: dict[str, str] = {}
        # Playbacks Asterisk is still playing, whether or not a flow still waits for them.
        self.playing: set[str] = set()
        # Recordings of the caller (by name) a flow waits for, until RecordingFinished/RecordingFailed.
        self._recordings: dict[str, asyncio.Future[tuple[str, str]]] = {}

    # -- timeline ----------------------------------------------------------------------
    def event(self, type_: str, **data: Any) -> None:
        self.journal.emit(self.call_id, type_, data)

    def set_attribute(self, name: str, value: Any) -> None:
        self.attributes[name] = value
        self.event(ev.ATTRIBUTE_SET, name=name, value=value)

    # -- fed by the Stasis dispatcher --------------------------------------------------
    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    def clear_digits(self) -> None:
        """Forgets keys pressed so far: the next question's answer is a key pressed after it is asked."""
        while not self._digits.empty():
            self._digits.get_nowait()

    def on_started(self) -> None:
        """An outbound channel entered the app: the citizen answered."""
        self.answered = True
        self._up.set()

    async def wait_started(self) -> None:
        await self._up.wait()

    async def wait_gone(self) -> None:
        """Until the caller has left (flows that wait on something else race it against this)."""
        await self._gone.wait()

    def on_dtmf(self, digit: str, heard_at: str = "") -> None:
        # ``heard_at``: Asterisk's time of the key, on the same clock as a prompt's ``started_at``.
        self.event(ev.DTMF, digit=digit, **({"heard_at": heard_at} if heard_at else {}))
        self._digits.put_nowait(digit)

    def on_playback_started(self, playback_id: str, started_at: str) -> None:
        if playback_id in self._playbacks and started_at:
            self._started_at[playback_id] = started_at

    def on_playback_finished(self, playback_id: str) -> None:
        self.playing.discard(playback_id)
        fut = self._playbacks.pop(playback_id, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def on_recording_ended(self, name: str, *, failed: bool, cause: str = "") -> None:
        fut = self._recordings.pop(name, None)
        if fut is not None and not fut.done():
            fut.set_result(("failed" if failed else "finished", cause))

    def on_hangup(self, *, cause: int | None, cause_text: str | None) -> None:
        if self.hangup_by is None:
            self.hangup_by = "caller"
        # ChannelDestroyed carries the final cause with its text; it wins over the request's.
        if cause is not None and (self.hangup_cause is None or cause_text is not None):
            self.hangup_cause, self.hangup_cause_text = cause, cause_text
        self._gone.set()

    # -- verbs for flows ---------------------------------------------------------------
    def _check(self) -> None:
        if self._gone.is_set():
            raise CallerHungUp(self.channel_id)

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except AriNotFound:
            # The channel vanished between our decision and the request: the caller left.
            self._gone.set()
            raise CallerHungUp(self.channel_id) from None

    async def answer(self) -> None:
        self._check()
        if not self.answered:
            await self._call(self.ari.answer(self.channel_id))
            self.answered = True
            self.event(ev.ANSWERED)

    async def play(self, media: list[str], *, interrupt_digits: str | None = None, name: str = "", last: bool = False) -> str | None:
        """Plays ``media`` (ARI media URIs) to the end, or until a digit in ``interrupt_digits``.

        Returns the interrupting digit (left out of the buffer) or None. ``last``: nothing follows but
        a hang-up, so no silence is queued behind the prompt (a hang-up does not wait for a wake-up).
        """
        self._check()
        if interrupt_digits:
            # A digit keyed ahead (during an earlier prompt) interrupts at once.
            while not self._digits.empty():
                digit = self._digits.get_nowait()
                if digit in interrupt_digits:
                    return digit
        playback_id = str(uuid.uuid4())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._playbacks[playback_id] = done
        self.event(ev.PROMPT_STARTED, prompt=name or media[0], playback_id=playback_id)
        self.playing.add(playback_id)
        await self._call(self.ari.play(self.channel_id, media, playback_id=playback_id))
        # Asterisk 16 runs a queued command on a channel that sends no audio (a caller listening on a
        # phone with silence suppression, a load generator) only at its 200 ms wake-up. Silence queued
        # behind the prompt starts the moment it ends and keeps the channel's 20 ms timer running, so
        # whatever the flow does next (the menu after the welcome, a prompt after a key) starts within
        # a frame. The next prompt stops the silence; the caller hears nothing of it. Only where the
        # version needs it (16, 17: ``Quirks.wake_up_workarounds``, asterisk/asterisk#363, fixed in 18).
        if not last and (await quirks.of_ari(self.ari)).wake_up_workarounds:
            await self._call(self.ari.start_silence(self.channel_id))
        gone = asyncio.ensure_future(self._gone.wait())
        digit_task: asyncio.Future[str] | None = asyncio.ensure_future(self._digits.get()) if interrupt_digits else None
        try:
            while True:
                waiters: set[asyncio.Future[Any]] = {done, gone}
                if digit_task is not None:
                    waiters.add(digit_task)
                finished, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                # A hangup also finishes the playback; the hangup is what happened to the caller.
                if gone in finished or self._gone.is_set():
                    raise CallerHungUp(self.channel_id)
                if done in finished:
                    self.event(ev.PROMPT_FINISHED, prompt=name or media[0], playback_id=playback_id, **self._started(playback_id))
                    # A key and the end of the prompt in one read of the event stream: the key was taken
                    # from the buffer, so it is the answer here (left to the finally below, it is lost).
                    if digit_task is not None and digit_task in finished and interrupt_digits:
                        digit = digit_task.result()
                        if digit in interrupt_digits:
                            return digit
                    return None
                assert digit_task is not None and interrupt_digits is not None
                digit = digit_task.result()
                if digit in interrupt_digits:
                    self.event(ev.PROMPT_FINISHED, prompt=name or media[0], playback_id=playback_id, interrupted_by=digit,
                               **self._started(playback_id))
                    await self._stop(playback_id)
                    return digit
                digit_task = asyncio.ensure_future(self._digits.get())
        finally:
            self._playbacks.pop(playback_id, None)
            self._started_at.pop(playback_id, None)
            gone.cancel()
            if digit_task is not None and not digit_task.done():
                digit_task.cancel()

    def _started(self, playback_id: str) -> dict[str, str]:
        started_at = self._started_at.get(playback_id)
        return {"started_at": started_at} if started_at else {}

    async def stop_playbacks(self) -> None:
        """Cuts what is playing (a hand-off must not wait for a long prompt to end)."""
        for playback_id in list(self.playing):
            self.playing.discard(playback_id)
            await self._stop(playback_id)

    async def _stop(self, playback_id: str) -> None:
        try:
            await self.ari.stop_playback(playback_id)
        except (AriNotFound, AriUnavailable):
            pass

    async def collect(
        self, *, max_digits: int, first_timeout: float, inter_timeout: float, terminator: str | None = "#", first: str | None = None,
    ) -> CollectResult:
        """Collects up to ``max_digits``; ``first`` is a digit already taken (it interrupted a prompt)."""
        digits = first or ""
        if digits == terminator:
            return CollectResult("", "terminator")
        if len(digits) >= max_digits:
            return CollectResult(digits, "max_digits")
        while True:
            self._check()
            timeout = inter_timeout if digits else first_timeout
            getter = asyncio.ensure_future(self._digits.get())
            gone = asyncio.ensure_future(self._gone.wait())
            try:
                finished, _ = await asyncio.wait({getter, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                if not getter.done():
                    getter.cancel()
            if getter in finished:
                digit = getter.result()
                if terminator and digit == terminator:
                    return CollectResult(digits, "terminator")
                digits += digit
                if len(digits) >= max_digits:
                    return CollectResult(digits, "max_digits")
                continue
            if gone in finished:
                raise CallerHungUp(self.channel_id)
            self.event(ev.TIMEOUT, collected=digits, after=timeout)
            return CollectResult(digits, "timeout")

    async def record(self, name: str, *, fmt: str = "wav", max_duration: int, max_silence: int,
                     terminate_on: str = "#", beep: bool = False) -> RecordResult:
        """Records the caller into Asterisk's recording directory as ``name``.``fmt`` until the
        recording ends (``terminate_on`` keyed, ``max_silence`` seconds of silence, ``max_duration``)
        or the caller hangs up; never raises ``CallerHungUp`` once recording began (what was said is
        kept: the flow stores it). ``AriError`` when Asterisk refuses to record."""
        self._check()
        done: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._recordings[name] = done
        try:
            await self._call(self.ari.record_channel(self.channel_id, name, fmt=fmt, if_exists="fail", beep=beep,
                                                     terminate_on=terminate_on, max_duration=max_duration,
                                                     max_silence=max_silence))
            gone: asyncio.Future[Any] = asyncio.ensure_future(self._gone.wait())
            try:
                waiters: set[asyncio.Future[Any]] = {done, gone}
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
        finally:
            self._recordings.pop(name, None)
        if done.done():
            ended_by, cause = done.result()
            return RecordResult(name, ended_by, cause)
        done.cancel()
        return RecordResult(name, "hangup")

    async def hangup(self, reason: str = "normal") -> None:
        """Hangs up; ``reason`` is recorded, and sent to Asterisk when it is one ARI knows."""
        if self._gone.is_set():
            return
        if self.hangup_by is None:
            self.hangup_by = "system"
        if not self._hangup_recorded:  # a retried hangup is still one step of the call
            self._hangup_recorded = True
            self.event(ev.HANGUP_REQUESTED, reason=reason)
        try:
            await self.ari.hangup(self.channel_id, reason if reason in ARI_HANGUP_REASONS else "normal")
        except AriNotFound:
            pass
        self._gone.set()
