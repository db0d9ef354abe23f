"""The Stasis application: turns ARI events into call sessions running a flow (T-1).

One dispatch table maps event names to handlers; handlers only hand work to the session or
spawn the flow, so the event reader never waits on I/O. A channel's first Stasis argument says
what kind of channel it is (the dialplan sends citizens' calls as ``inbound``; the daemon's own
originated channels will carry ``agent``, ``callback``, ...): each kind has its flow, given by the
capability that handles it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from callcore.ari.client import AriClient
from callcore.ari.errors import AriError, AriUnavailable
from callcore.ari.models import Channel
from callcore.asterisk import quirks
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.calls.session import CallerHungUp, CallSession
from callcore.logs import call_context
from callcore.core.tasks import TaskSet

log = logging.getLogger(__name__)

Flow = Callable[[CallSession], Awaitable[None]]
# Handles every event of one channel the app does not run as a call (an agent's leg of a queued
# call, dialled by the daemon): ringing, answer (StasisStart), playbacks, hang-up.
ChannelHandler = Callable[[dict[str, Any]], None]
# Takes over a parked channel of that kind found after a reconnect (no call row is opened for it).
LegResumer = Callable[[Channel], Coroutine[Any, Any, None]]


# The kind of a channel that entered with no argument (an older dialplan).
DEFAULT_KIND = "inbound"

# Seconds between the tries to hang up a call whose flow ended, while Asterisk refuses requests.
HANGUP_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class StasisApp:
    def __init__(self, *, ari: AriClient, journal: CallJournal, fallback: tuple[str, str, str],
                 flows: dict[str, Flow] | None = None) -> None:
        """``fallback`` is the dialplan's (context, extension, label) that apologises and takes a
        message: calls of a kind no flow handles go there, and so do calls still up at shutdown."""
        self.ari = ari
        self.journal = journal
        self.flows: dict[str, Flow] = dict(flows or {})
        self.fallback = fallback
        self.sessions: dict[str, CallSession] = {}
        self.claims: dict[str, ChannelHandler] = {}
        self.legs: dict[str, LegResumer] = {}
        self.tasks = TaskSet("call")
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            name.removeprefix("on_"): getattr(self, name) for name in dir(self) if name.startswith("on_") and name != "on_event"
        }

    # -- dispatch ----------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        if self.claims:
            claimed = self.claims.get(self._channel_of(event))
            if claimed is not None:
                claimed(event)
                return
        handler = self._handlers.get(str(event.get("type")))
        if handler is not None:
            handler(event)

    def handle(self, kind: str, flow: Flow) -> None:
        """Channels entering with ``kind`` as their first Stasis argument run ``flow``."""
        if kind in self.flows:
            raise ValueError(f"Stasis channels of kind {kind!r} already have a flow")
        self.flows[kind] = flow

    def handle_leg(self, kind: str, resume: LegResumer) -> None:
        """Parked channels of ``kind`` found at reconnect go to ``resume``, not to a call flow: they are
        legs of calls the app already knows (an agent's phone), not calls of their own."""
        if kind in self.legs or kind in self.flows:
            raise ValueError(f"Stasis channels of kind {kind!r} are already handled")
        self.legs[kind] = resume

    def claim(self, channel_id: str, handler: ChannelHandler) -> None:
        """Every later event about ``channel_id`` goes to ``handler`` only (claim before dialling it)."""
        self.claims[channel_id] = handler

    def release(self, channel_id: str) -> None:
        self.claims.pop(channel_id, None)

    @staticmethod
    def _channel_of(event: dict[str, Any]) -> str:
        channel = event.get("channel")
        if channel:
            return str(channel.get("id", ""))
        # Playbacks and recordings name what they play to / record as their target (``channel:<id>``).
        target = str((event.get("playback") or event.get("recording") or {}).get("target_uri", ""))
        return target.removeprefix("channel:") if target.startswith("channel:") else ""

    def expect(self, session: CallSession) -> None:
        """An outbound channel the daemon is about to originate with ``session``'s channel id: from
        now on its events (refusal, hang-up) feed the session, and its StasisStart is the answer."""
        self.sessions[session.channel_id] = session

    def on_StasisStart(self, event: dict[str, Any]) -> None:
        channel = Channel.from_json(event.get("channel") or {})
        known = self.sessions.get(channel.id)
        if known is not None:
            if not known.answered:
                known.on_started()
            return
        args = [str(a) for a in event.get("args") or []]
        kind = args[0] if args else DEFAULT_KIND
        if kind in self.legs:
            # A leg of a call (an agent's phone) answered after its call let go of it (the ring was
            # cancelled, the caller left): not a call of its own; its resumer ends it.
            self.tasks.spawn(self.legs[kind](channel), name=f"leg-{channel.id}")
            return
        call_id = self.journal.new_call_id(channel.id)
        session = self._open(call_id, channel, args=args)
        session.event(
            ev.ARRIVED, channel_id=channel.id, caller_number=channel.caller_number, caller_name=channel.caller_name,
            dialed=channel.exten, direction=kind, args=args,
        )
        if channel.state == "Up":
            # The dialplan answered before handing the call over.
            session.answered = True
            session.event(ev.ANSWERED, by="dialplan")
        self._start(session, kind)

    def on_ChannelDtmfReceived(self, event: dict[str, Any]) -> None:
        session = self._session_of(event)
        if session is not None:
            session.on_dtmf(str(event.get("digit", "")), str(event.get("timestamp", "")))

    def on_PlaybackStarted(self, event: dict[str, Any]) -> None:
        found = self._playback_of(event)
        if found is not None:
            found[0].on_playback_started(found[1], str(event.get("timestamp", "")))

    def on_PlaybackFinished(self, event: dict[str, Any]) -> None:
        found = self._playback_of(event)
        if found is not None:
            found[0].on_playback_finished(found[1])

    def on_RecordingFinished(self, event: dict[str, Any]) -> None:
        self._recording_ended(event, failed=False)

    def on_RecordingFailed(self, event: dict[str, Any]) -> None:
        self._recording_ended(event, failed=True)

    def _recording_ended(self, event: dict[str, Any], *, failed: bool) -> None:
        # A bridge's recording (``bridge:<id>``) is nobody's here: the recorder follows its own.
        session = self.sessions.get(self._channel_of(event))
        if session is not None:
            recording = event.get("recording") or {}
            session.on_recording_ended(str(recording.get("name", "")), failed=failed,
                                       cause=str(recording.get("cause") or ""))

    def _cause(self, session: CallSession, cause: Any) -> Any:
        """The cause to keep: a far end's hang-up that this Asterisk reports without one (22.7+,
        ``quirks.bye_cause_missing``) is normal clearing, as earlier versions say."""
        if cause:
            return cause
        fixed = quirks.known(self.ari).hangup_cause(None, by_far_end=session.hangup_by in (None, "caller"))
        return fixed if fixed is not None else cause

    def on_ChannelHangupRequest(self, event: dict[str, Any]) -> None:
        session = self._session_of(event)
        if session is not None:
            session.on_hangup(cause=self._cause(session, event.get("cause")), cause_text=None)

    def on_StasisEnd(self, event: dict[str, Any]) -> None:
        session = self._session_of(event)
        if session is not None:
            session.on_hangup(cause=None, cause_text=None)
            # ChannelDestroyed (with the final cause) usually follows at once; close without it if not.
            asyncio.get_running_loop().call_later(1.0, self._close, session)

    def on_ChannelDestroyed(self, event: dict[str, Any]) -> None:
        session = self._session_of(event)
        if session is not None:
            cause = event.get("cause")
            fixed = self._cause(session, cause)
            text = event.get("cause_txt") if fixed == cause else "Normal Clearing"
            session.on_hangup(cause=fixed, cause_text=text)
            self._close(session)

    # -- sessions ----------------------------------------------------------------------
    def _session_of(self, event: dict[str, Any]) -> CallSession | None:
        return self.sessions.get(str((event.get("channel") or {}).get("id", "")))

    def _playback_of(self, event: dict[str, Any]) -> tuple[CallSession, str] | None:
        """The session a playback event is about (its target is a channel of ours) and the playback's id."""
        playback = event.get("playback") or {}
        target = str(playback.get("target_uri", ""))
        session = self.sessions.get(target.removeprefix("channel:")) if target.startswith("channel:") else None
        return (session, str(playback.get("id", ""))) if session is not None else None

    def _open(self, call_id: str, channel: Channel, *, args: list[str]) -> CallSession:
        session = CallSession(
            ari=self.ari, journal=self.journal, call_id=call_id, channel_id=channel.id,
            caller_number=channel.caller_number, caller_name=channel.caller_name, dialed=channel.exten,
            attributes={"args": args} if args else None,
        )
        self.sessions[channel.id] = session
        return session

    def _start(self, session: CallSession, kind: str) -> None:
        flow = self.flows.get(kind)
        if flow is None:
            log.error("no flow handles Stasis channels of kind %r: call %s goes to the dialplan's fallback",
                      kind, session.call_id)
            self.tasks.spawn(self._hand_off(session, self.fallback), name=f"call-{session.call_id}")
            return
        self.tasks.spawn(self._run(session, flow), name=f"call-{session.call_id}")

    def close(self, session: CallSession) -> None:
        """Ends ``session``'s record now (a channel that never came to be: an outbound dial refused)."""
        self._close(session)

    def _close(self, session: CallSession) -> None:
        if session.ended:
            return
        session.ended = True
        self.sessions.pop(session.channel_id, None)
        session.event(
            ev.ENDED, by=session.hangup_by or "caller", cause=session.hangup_cause, cause_text=session.hangup_cause_text
        )

    async def _run(self, session: CallSession, flow: Flow) -> None:
        with call_context(session.call_id):
            cancelled = False
            try:
                await flow(session)
            except CallerHungUp:
                pass
            except AriError as exc:
                log.warning("call flow stopped by ARI error: %s", exc)
            except asyncio.CancelledError:
                # Shutdown: the call is handed back to the dialplan or stays parked, never cut off.
                cancelled = True
                raise
            finally:
                if not cancelled and not session.gone:
                    await self._hangup_with_retries(session)

    async def _hangup_with_retries(self, session: CallSession) -> None:
        """A call whose flow ended must not stay parked: an overloaded Asterisk gets more tries, spaced
        out (about a minute in all) so that the retries do not add to its load."""
        for delay in (*HANGUP_RETRY_DELAYS, None):
            try:
                await session.hangup("normal")
                return
            except AriUnavailable as exc:
                if delay is None:
                    log.error("hangup failed, the call stays parked until reconciled or timed out: %s", exc)
                    return
                log.warning("hangup failed (%s), %d s to retry", exc, delay)
                await asyncio.sleep(delay)
            except AriError as exc:
                log.warning("hangup failed: %s", exc)
                return

    # -- reconciliation ----------------------------------------------------------------
    async def reconcile(
        self, channels: list[Channel], known_call_id: Callable[[str], Awaitable[str | None]] | None = None
    ) -> dict[str, int]:
        """After every ARI (re)connect: resume channels parked in the app, end sessions that vanished.

        ``known_call_id`` maps a channel id to the call id stored for it (None if unknown), so a
        restarted daemon continues the same call row instead of opening a second one.
        """
        live = {c.id for c in channels}
        stats = {"resumed": 0, "vanished": 0}
        for channel_id, session in list(self.sessions.items()):
            if channel_id not in live:
                session.hangup_by = session.hangup_by or "system"
                session.hangup_cause_text = session.hangup_cause_text or "channel gone while ARI was disconnected"
                session.on_hangup(cause=None, cause_text=None)
                self._close(session)
                stats["vanished"] += 1
        for channel in channels:
            if channel.id in self.sessions or channel.id in self.claims or not channel.in_stasis_app(self.ari.app):
                continue
            # The Stasis arguments are still on the parked channel: the same kind and route resume.
            args = channel.stasis_args
            kind = args[0] if args and args[0] else DEFAULT_KIND
            if kind in self.legs:
                self.tasks.spawn(self.legs[kind](channel), name=f"leg-{channel.id}")
                stats["resumed"] += 1
                continue
            call_id = await known_call_id(channel.id) if known_call_id else None
            session = self._open(call_id or self.journal.new_call_id(channel.id), channel, args=args)
            if call_id is None:
                # Not found: never stored, or the store is down. The channel's own call id is the one the
                # previous process used, and ``resumed`` lets the journal drop this arrival when that
                # process's is stored already.
                session.event(
                    ev.ARRIVED, channel_id=channel.id, caller_number=channel.caller_number,
                    caller_name=channel.caller_name, dialed=channel.exten, direction=kind, args=args, resumed=True,
                )
            session.answered = channel.state == "Up"
            session.resumed = True
            session.event(ev.RECONCILED, action="resumed", channel_state=channel.state)
            log.info("resuming parked channel %s (%s)", channel.id, channel.state)
            self._start(session, kind)
            stats["resumed"] += 1
        return stats

    async def shutdown(self, *, hand_off: bool = True) -> None:
        """Stops every flow. With ``hand_off``, calls still up go back to the dialplan's fallback
        instead of staying parked with nobody driving them."""
        await self.tasks.cancel_all()
        if not hand_off:
            return
        for session in list(self.sessions.values()):
            # A caller waiting in a queue (music keeps playing in Asterisk) or talking to an agent
            # (the bridge stays up) stays parked: the daemon that comes back resumes them in place.
            if not session.gone and not session.keep_parked:
                await self._hand_off(session, self.fallback, why="handed to the dialplan at shutdown")

    async def hand_off(self, session: CallSession, why: str = "handed to the dialplan") -> None:
        """Sends the call to the dialplan's fallback (apology and a voicemail); it leaves the app."""
        await self._hand_off(session, self.fallback, why=why)

    async def _hand_off(self, session: CallSession, where: tuple[str, str, str],
                        why: str = "handed to the dialplan") -> None:
        """Sends the call back to the dialplan at (context, extension, label); it leaves the app."""
        context, extension, label = where
        try:
            await session.stop_playbacks()
            await self.ari.continue_in_dialplan(session.channel_id, context=context, extension=extension, label=label)
        except AriError as exc:
            log.warning("could not hand call %s back to the dialplan: %s", session.call_id, exc)
            return
        session.hangup_by = "system"
        session.hangup_cause_text = why
        session.event(ev.HANDED_OFF, context=context, extension=extension, label=label)
        session.on_hangup(cause=None, cause_text=None)
        self._close(session)

