"""The caller's side of a queue, as a call flow (T-5, T-7, C-1): from the IVR's hand-off to the end.

``QueueHandoff`` is what the IVR hands callers to (``HandoffTarget``). A caller waits hearing music,
with position / expected-wait announcements at its own staggered moments, until the dispatcher
(``QueueService``) says an agent answered, the queue's maximum wait passes, or the caller hangs up.
When an agent answers, the caller hears the agent's number ("NNNN号话务员为您服务") while the agent
hears which queue the call comes from; then both are bridged and talk. Every step is an event on
the call's timeline; the call's one outcome is classified from them when it ends.

A waiting or talking caller is left parked when the daemon stops: the music (or the conversation)
goes on in Asterisk, and the daemon that comes back resumes it in place (``resume``), with its
original entry time, so nobody loses their turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcore.ari.errors import AriError, AriNotFound
from callcore.ari.models import Channel
from callcore.calls import events as ev
from callcore.calls.session import CallerHungUp, CallSession
from callcore.calls.stasis import StasisApp
from callcore.ivr.types import HandoffTarget, IvrOutcome
from callcore.prompts.synth import PromptError, ensure_prompt
from callcore.queues.card import CallerCard
from callcore.queues.estimate import announcement_text, expected_wait, next_announcement_at
from callcore.queues.models import QueueEntry
from callcore.queues.services import QueueService, Ring, Waiter
from callcore.queues.settings import QueueSettings
from callcore.queues.speech import agent_intro_text
from callcore.queues.waiting import WaitingCaller, caller_priority
from callcore.recordings.recorder import Recorder
from callcore.recordings.voicemail import Voicemail
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)

CardBuilder = Callable[[CallSession], Awaitable[CallerCard]]

# What the caller hears when nobody can serve the queue now, or the wait reached the maximum,
# before the dialplan's fallback apologises and takes a message.
NOBODY_TEXT = "抱歉，现在暂时没有话务员可以接听您的来电。"
MAX_WAIT_TEXT = "抱歉，让您久等了，现在话务员都在忙。"
# At the maximum wait of a queue whose ``on_max_wait`` is voicemail (T-10), before the beep.
MAX_WAIT_VOICEMAIL_TEXT = (MAX_WAIT_TEXT + "请在提示音后留言，说明您的姓名、联系电话和反映的事项，"
                           "按井号键结束，我们将尽快回电。")
# Seconds a card may take before the ring goes out with what is known without the store.
CARD_TIMEOUT = 0.5


def sound(path: Path) -> str:
    return f"sound:{path}"


def basic_card(session: CallSession) -> CallerCard:
    """What the screen pop says without the store: the call, the number, the menu's path and hint."""
    category = session.attributes.get("category")
    return CallerCard(call_id=session.call_id, caller_number=session.caller_number, caller_name=session.caller_name,
                      ivr_path=tuple(session.attributes.get("ivr_path") or ()),
                      category=str(category) if category else None, complete=False, built_at=utcnow())


class QueueHandoff(HandoffTarget):
    def __init__(self, service: QueueService, *, stasis: StasisApp, sounds_dir: Path,
                 card: CardBuilder | None = None, recorder: Recorder | None = None,
                 voicemail: Voicemail | None = None) -> None:
        self.service = service
        self.stasis = stasis
        self.sounds_dir = sounds_dir
        self.card = card
        # T-9: records every conversation from the moment both legs are bridged (None: not recorded).
        self.recorder = recorder
        # T-10: takes messages (a menu's voicemail node, a queue's maximum wait); None: no voicemail.
        self.voicemail = voicemail

    # -- HandoffTarget -----------------------------------------------------------------
    def available(self, kind: str, name: str) -> bool:
        """A queue someone serves now (logged in, not paused), or any mailbox while voicemail runs;
        otherwise the menu's own ``unavailable`` branch tells the caller what to do."""
        if kind == "voicemail":
            return self.voicemail is not None
        return kind == "queue" and self.service.settings(name) is not None and self.service.staffed(name) > 0

    async def take(self, session: Any, outcome: IvrOutcome) -> None:
        if outcome.how == "voicemail" and self.voicemail is not None and isinstance(session, CallSession):
            await self.voicemail.take(session, mailbox=outcome.target)  # the menu's node spoke the prompt
            return
        settings = self.service.settings(outcome.target)
        if settings is None or not isinstance(session, CallSession):
            await session.hangup("queue_unavailable")
            return
        if outcome.path:
            session.attributes["ivr_path"] = list(outcome.path)
        priority = max(_int(session.attributes.get("priority")),
                       caller_priority(category=session.attributes.get("category")))
        caller = WaitingCaller(call_id=session.call_id, queue=settings.name, entered_at=self.service.clock(),
                               seq=self.service.next_seq(), priority=priority)
        await self.wait(session, settings, caller)

    async def resume(self, session: Any) -> bool:
        if not isinstance(session, CallSession):
            return False
        try:
            async with self.service.db.session() as s:
                entry = (await s.execute(select(QueueEntry).where(QueueEntry.call_id == session.call_id))).scalar()
        except OUTAGE_ERRORS as exc:
            log.error("call %s resumed but its queue entry cannot be read (%s): the menu runs", session.call_id, exc)
            return False
        if entry is None:
            return False
        settings = self.service.settings(entry.queue)
        if entry.status == "waiting" and settings is not None:
            caller = WaitingCaller(call_id=entry.call_id, queue=entry.queue, entered_at=entry.entered_at,
                                   seq=entry.seq, priority=entry.priority)
            await self.wait(session, settings, caller, resumed=True)
            return True
        if entry.status == "answered":
            await self.reattach(session, entry.agent or "", settings)
            return True
        return False

    # -- waiting -----------------------------------------------------------------------
    async def wait(self, session: CallSession, settings: QueueSettings, caller: WaitingCaller, *,
                   resumed: bool = False) -> None:
        service = self.service
        session.keep_parked = True
        if service.staffed(settings.name) == 0:
            session.event(ev.QUEUE_ENTERED, queue=settings.name, position=1, priority=caller.priority, seq=caller.seq)
            session.event(ev.QUEUE_LEFT, queue=settings.name, reason=ev.LEFT_SYSTEM, position=1, waited=0.0,
                          why="nobody staffed")
            session.keep_parked = False
            await self._send_away(session, NOBODY_TEXT)
            return
        card = await self._card(session)
        waiter = service.enter(session, settings, caller, card)
        session.event(ev.QUEUE_ENTERED, queue=settings.name, position=service.position(waiter),
                      priority=caller.priority, seq=caller.seq, **({"resumed": True} if resumed else {}))
        try:
            await self._music(session, settings)
            while True:
                ring = await self._until_answered(session, waiter)
                if ring is None:
                    return
                if await self._connect(session, waiter, ring):
                    return
                service.put_back(waiter)
                await self._music(session, settings)
        except CallerHungUp:
            if waiter.caller.call_id in service.waiting:
                position = service.position(waiter)
                service.leave(waiter, ev.LEFT_CALLER_HANGUP)
                session.event(ev.QUEUE_LEFT, queue=settings.name, reason=ev.LEFT_CALLER_HANGUP, position=position,
                              waited=self._waited(waiter))
            raise
        except asyncio.CancelledError:
            # The daemon stops: the caller stays parked with music; the next daemon resumes it.
            service.waiting.pop(waiter.caller.call_id, None)
            raise
        except BaseException:
            # The flow failed (Asterisk refused a request): the caller must not stay in the line
            # with nobody driving the call; the Stasis app hangs it up.
            if waiter.caller.call_id in service.waiting:
                position = service.position(waiter)
                service.leave(waiter, ev.LEFT_SYSTEM)
                session.event(ev.QUEUE_LEFT, queue=settings.name, reason=ev.LEFT_SYSTEM, position=position,
                              waited=self._waited(waiter), why="error")
            session.keep_parked = False
            raise

    async def _until_answered(self, session: CallSession, waiter: Waiter) -> Ring | None:
        """Waits for an agent, announcing at the caller's own moments; None when the wait ended."""
        service, settings = self.service, waiter.settings
        gone: asyncio.Future[Any] = asyncio.ensure_future(session.wait_gone())
        try:
            while True:
                now = service.clock()
                due = next_announcement_at(entered_at=waiter.caller.entered_at, seq=waiter.caller.seq,
                                           period=settings.announce_every, now=now)
                left = settings.max_wait - (now - waiter.caller.entered_at).total_seconds() if settings.max_wait else None
                timeouts = [t for t in ((due - now).total_seconds() if due else None, left) if t is not None]
                timeout = max(0.0, min(timeouts)) if timeouts else None
                done, _ = await asyncio.wait({waiter.answered, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if waiter.answered in done:
                    return waiter.answered.result()
                if gone in done:
                    raise CallerHungUp(session.channel_id)
                if settings.max_wait and (service.clock() - waiter.caller.entered_at).total_seconds() >= settings.max_wait:
                    position = service.position(waiter)
                    service.leave(waiter, ev.LEFT_TIMEOUT)
                    session.event(ev.QUEUE_LEFT, queue=settings.name, reason=ev.LEFT_TIMEOUT, position=position,
                                  waited=self._waited(waiter))
                    session.keep_parked = False
                    if settings.on_max_wait == "voicemail" and self.voicemail is not None:
                        await self._quiet(session)
                        await self.voicemail.take(session, mailbox=settings.name, prompt=MAX_WAIT_VOICEMAIL_TEXT,
                                                  queue=settings.name)
                    else:
                        await self._send_away(session, MAX_WAIT_TEXT)
                    return None
                await self._announce(session, waiter)
        finally:
            gone.cancel()

    async def _announce(self, session: CallSession, waiter: Waiter) -> None:
        """The periodic position / expected-wait announcement; an agent answering cuts it short."""
        service = self.service
        position = service.position(waiter)
        if position < 1 or waiter.answered.done():
            return
        expected = expected_wait(position, service.staffed(waiter.caller.queue),
                                 list(service.recent_waits.get(waiter.caller.queue, ())))
        text = announcement_text(position, expected)
        try:
            path = await ensure_prompt(text, self.sounds_dir)
        except PromptError as exc:
            log.error("announcement not synthesized: %s", exc)
            return
        await self._quiet(session)
        session.event(ev.ANNOUNCEMENT, kind=ev.ANNOUNCE_POSITION, position=position, expected_seconds=expected,
                      text=text)
        play = asyncio.ensure_future(session.play([sound(path)], name="queue_position", last=True))
        try:
            waiting: set[asyncio.Future[Any]] = {play, waiter.answered}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if play not in done:
                await session.stop_playbacks()
            await play
        finally:
            if not play.done():
                play.cancel()
        if not waiter.answered.done():
            await self._music(session, waiter.settings)

    # -- connecting (T-7) --------------------------------------------------------------
    async def _connect(self, session: CallSession, waiter: Waiter, ring: Ring) -> bool:
        """Announces the agent, bridges caller and agent, and stays until one of them hangs up.

        False when the agent's leg ended before the conversation began (the caller waits again)."""
        service, settings = self.service, waiter.settings
        waited = self._waited(waiter)
        position = service.position(waiter)
        service.leave(waiter, ev.LEFT_ANSWERED)
        service.record_wait(settings.name, waited)
        session.event(ev.AGENT_ANSWERED, queue=settings.name, agent=ring.agent, waited=waited)
        session.event(ev.QUEUE_LEFT, queue=settings.name, reason=ev.LEFT_ANSWERED, position=position, waited=waited)
        intro_text = agent_intro_text(ring.agent)
        intro: Path | None = None
        queue_name: Path | None = None
        try:
            intro = await ensure_prompt(intro_text, self.sounds_dir)
            queue_name = await ensure_prompt(f"{settings.display_name}来电。", self.sounds_dir)
        except PromptError as exc:
            log.error("agent announcement not synthesized: %s", exc)
        await self._quiet(session)
        talked = stopping = False
        try:
            if intro is not None and queue_name is not None:
                # The agent hears where the call comes from while the caller hears who answers.
                to_agent = asyncio.ensure_future(service.play_to_agent(ring, sound(queue_name)))
                session.event(ev.ANNOUNCEMENT, kind=ev.ANNOUNCE_AGENT, agent=ring.agent, text=intro_text)
                try:
                    await session.play([sound(intro)], name="agent_intro", last=True)
                finally:
                    await asyncio.wait({to_agent}, timeout=5)
                    to_agent.cancel()
            if ring.gone.is_set():
                service.agent_leg_done(ring, talked=False, wrap_up=0.0)
                return False
            talked = True
            await self._talk(session, ring, settings)
            return True
        except asyncio.CancelledError:
            # The daemon stops: the conversation goes on in Asterisk and the next daemon follows it.
            stopping = True
            raise
        finally:
            if (talked or session.gone) and not stopping:
                service.agent_leg_done(ring, talked=True, wrap_up=settings.wrap_up)

    async def _talk(self, session: CallSession, ring: Ring, settings: QueueSettings) -> None:
        ari = self.service.ari
        bridge_id = f"call-{session.call_id}"
        await ari.create_bridge(bridge_id, kind="mixing", name=f"callcore {session.call_id}")
        stopping = False
        try:
            await ari.add_to_bridge(bridge_id, [session.channel_id, ring.channel_id])
            if self.recorder is not None:
                # Returns at once; a recording that fails is logged and stored, the call goes on.
                await self.recorder.start(call_id=session.call_id, bridge_id=bridge_id, agent=ring.agent,
                                          queue=settings.name)
            session.event(ev.BRIDGED, agent=ring.agent, bridge_id=bridge_id)
            session.event(ev.TALK_STARTED, agent=ring.agent)
            await self._until_one_leaves(session, ring, settings)
        except asyncio.CancelledError:
            # The daemon stops: the bridge (and its recording) stay up, the two go on talking, and
            # the next daemon's ``reattach`` follows the conversation to its end.
            stopping = True
            raise
        finally:
            if not stopping:
                if self.recorder is not None:
                    await self.recorder.stop(call_id=session.call_id)
                try:
                    await ari.destroy_bridge(bridge_id)
                except AriError:
                    pass

    async def _until_one_leaves(self, session: CallSession, ring: Ring, settings: QueueSettings) -> None:
        caller_gone = asyncio.ensure_future(session.wait_gone())
        agent_gone = asyncio.ensure_future(ring.gone.wait())
        try:
            await asyncio.wait({caller_gone, agent_gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            caller_gone.cancel()
            agent_gone.cancel()
        by = "caller" if session.gone else "agent"
        session.event(ev.TALK_ENDED, agent=ring.agent, by=by, wrap_up=settings.wrap_up)
        if by == "agent":
            session.hangup_by = "agent"
            await session.hangup("normal")

    async def reattach(self, session: CallSession, agent: str, settings: QueueSettings | None) -> None:
        """A conversation that went on while the daemon was away: follow it to its end again."""
        session.keep_parked = True
        bridge_id = f"call-{session.call_id}"
        try:
            bridge = await self.service.ari.get_bridge(bridge_id)
        except AriNotFound:
            await session.hangup("normal")
            return
        others = [c for c in bridge.get("channels") or [] if c != session.channel_id]
        if not others:
            await session.hangup("normal")
            return
        ring = self.service.adopt(agent, str(others[0]), session)
        wrap_up = settings.wrap_up if settings is not None else 0.0
        try:
            await self._until_one_leaves(session, ring, settings or _NO_SETTINGS)
        finally:
            self.service.agent_leg_done(ring, talked=True, wrap_up=wrap_up)
            try:
                await self.service.ari.destroy_bridge(bridge_id)
            except AriError:
                pass

    async def resume_agent_leg(self, channel: Channel) -> None:
        """An agent's leg found parked after a restart: its call takes it back (``reattach``), or,
        if no call claims it shortly, it is hung up (its caller is gone)."""
        await asyncio.sleep(3.0)
        if channel.id in self.stasis.claims:
            return
        try:
            await self.service.ari.hangup(channel.id, "normal")
        except AriError:
            pass

    # -- helpers -----------------------------------------------------------------------
    async def _music(self, session: CallSession, settings: QueueSettings) -> None:
        try:
            await self.service.ari.start_moh(session.channel_id, settings.music_class)
        except AriNotFound:
            raise CallerHungUp(session.channel_id) from None
        except AriError as exc:
            log.warning("music on hold not started for %s: %s", session.call_id, exc)

    async def _quiet(self, session: CallSession) -> None:
        try:
            await self.service.ari.stop_moh(session.channel_id)
        except AriNotFound:
            raise CallerHungUp(session.channel_id) from None
        except AriError:
            pass

    async def _send_away(self, session: CallSession, text: str) -> None:
        """A short apology, then the dialplan's fallback (its apology and a voicemail)."""
        await self._quiet(session)
        try:
            path = await ensure_prompt(text, self.sounds_dir)
            await session.play([sound(path)], name="queue_unavailable", last=True)
        except PromptError as exc:
            log.error("apology not synthesized: %s", exc)
        await self.stasis.hand_off(session, why="queue: nobody to answer")

    async def _card(self, session: CallSession) -> CallerCard:
        if self.card is None:
            return basic_card(session)
        try:
            return await asyncio.wait_for(self.card(session), CARD_TIMEOUT)
        except (TimeoutError, *OUTAGE_ERRORS) as exc:  # type: ignore[misc]
            log.warning("screen pop card for %s without history (%s)", session.call_id, type(exc).__name__)
            return basic_card(session)

    def _waited(self, waiter: Waiter) -> float:
        return round((self.service.clock() - waiter.caller.entered_at).total_seconds(), 3)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_NO_SETTINGS = QueueSettings(name="gone", display_name="已删除的队列", wrap_up=0.0)
