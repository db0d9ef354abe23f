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
from typing import Any, Protocol

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
from callcore.queues import agents as ag
from callcore.queues.services import QueueService, Ring, Waiter
from callcore.queues.settings import QueueSettings
from callcore.queues.speech import agent_intro_text, phone_digits
from callcore.queues.waiting import WaitingCaller, caller_priority
from callcore.recordings.recorder import Recorder
from callcore.recordings.voicemail import Voicemail
from callcore.store.base import utcnow
from callcore.store.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)

CardBuilder = Callable[[CallSession], Awaitable[CallerCard]]
# Runs on the caller's line after the agent hung up first (T-14: the post-call survey); the caller is
# hung up when it returns. Given by a capability above the queues (``QueueHandoff.after_talk``).
AfterTalk = Callable[[CallSession, str, QueueSettings], Awaitable[None]]


class CallbackBooker(Protocol):
    """T-11, given by the callbacks capability: whether to offer a callback, and the booking that
    keeps the caller's place (same queue, entry time, order and priority) once accepted."""

    @property
    def offer_after(self) -> float: ...
    def usable(self, number: str) -> bool: ...
    async def book(self, *, number: str, waiter: Waiter) -> str: ...


# T-11: the offer, the number's confirmation and the goodbye (tail digits of the number are read out).
OFFER_TEXT = "如果您不想继续等待，请按1，我们将按您现在的排队顺序给您回电。"
CONFIRM_TEXT = "我们将回拨尾号为{tail}的来电号码，确认请按1；如需使用其他号码，请输入号码，并以井号键结束。"
ASK_NUMBER_TEXT = "请输入您的联系电话，并以井号键结束。"
BAD_NUMBER_TEXT = "您输入的号码无效。"
BOOKED_TEXT = "已为您登记回电，您的排队顺序保持不变，话务员将尽快给您回电，感谢来电，再见。"

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
        # What the caller still hears once the agent hung up first (the survey); None: hung up at once.
        self.after_talk: AfterTalk | None = None
        # T-11: callbacks instead of waiting; None: never offered.
        self.callbacks: CallbackBooker | None = None

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
            if not resumed and self._offer_at_entry(waiter) and await self._offer(session, waiter):
                return
            await self._music(session, settings)
            while True:
                ring = await self._until_answered(session, waiter)
                if ring is None:
                    return
                if await self._connect(session, waiter, ring):
                    return
                service.put_back(waiter, skip=ring.agent)
                # Back in the line, in the same place: the timeline (and the outcome) say so.
                session.event(ev.QUEUE_ENTERED, queue=settings.name, position=service.position(waiter),
                              priority=caller.priority, seq=caller.seq, again=True)
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
                if await self._announce(session, waiter):
                    return None
        finally:
            gone.cancel()

    async def _announce(self, session: CallSession, waiter: Waiter) -> bool:
        """The periodic position / expected-wait announcement, and the callback offer after it; an
        agent answering cuts it short. True when the caller left the line for a callback."""
        service = self.service
        position = service.position(waiter)
        if position < 1 or waiter.answered.done():
            return False
        expected = expected_wait(position, service.staffed(waiter.caller.queue),
                                 list(service.recent_waits.get(waiter.caller.queue, ())))
        text = announcement_text(position, expected)
        try:
            path = await ensure_prompt(text, self.sounds_dir)
        except PromptError as exc:
            log.error("announcement not synthesized: %s", exc)
            return False
        await self._quiet(session)
        session.event(ev.ANNOUNCEMENT, kind=ev.ANNOUNCE_POSITION, position=position, expected_seconds=expected,
                      text=text)
        await self._play_racing(session, waiter, path, name="queue_position", interrupt=None)
        if self._offering() and not waiter.answered.done() and await self._offer(session, waiter, quiet=True):
            return True
        if not waiter.answered.done():
            await self._music(session, waiter.settings)
        return False

    # -- callback instead of waiting (T-11) --------------------------------------------
    def _offering(self) -> bool:
        return self.callbacks is not None and self.callbacks.offer_after > 0

    def _offer_at_entry(self, waiter: Waiter) -> bool:
        """Offered at once when nobody can take the call now and the wait is unknown or long."""
        if not self._offering():
            return False
        assert self.callbacks is not None
        service, queue = self.service, waiter.caller.queue
        if any(a in service.agents and ag.can_ring(service.agents[a]) for a in service.members_of(queue)):
            return False
        expected = expected_wait(max(1, service.position(waiter)), service.staffed(queue),
                                 list(service.recent_waits.get(queue, ())))
        return expected is None or expected >= self.callbacks.offer_after

    async def _offer(self, session: CallSession, waiter: Waiter, *, quiet: bool = False) -> bool:
        """"Press 1 to be called back": on 1, the number is confirmed (or keyed in), the callback is
        booked in the caller's place and the caller hears so and is hung up. An agent answering
        meanwhile wins: the offer stops and the call goes on. True when the caller left for a callback."""
        assert self.callbacks is not None
        service, settings = self.service, waiter.settings
        position = service.position(waiter)
        if not quiet:
            await self._quiet(session)
        session.event(ev.CALLBACK_OFFERED, queue=settings.name, position=position)
        digit = await self._prompt_racing(session, waiter, OFFER_TEXT, interrupt="1")
        if digit != "1" or waiter.answered.done():
            if not waiter.answered.done():
                await self._music(session, settings)
            return False
        number = await self._confirm_number(session, waiter)
        if waiter.answered.done():
            return False
        if number is None:
            session.event(ev.CALLBACK_DECLINED, queue=settings.name, why="no usable number")
            await self._music(session, settings)
            return False
        # The booking takes the caller's place before the caller leaves it: nobody behind overtakes.
        task_id = await self.callbacks.book(number=number, waiter=waiter)
        position = service.position(waiter)
        service.leave(waiter, ev.LEFT_CALLBACK)
        session.event(ev.CALLBACK_REQUESTED, queue=settings.name, task_id=task_id)
        session.event(ev.QUEUE_LEFT, queue=settings.name, reason=ev.LEFT_CALLBACK, position=position,
                      waited=self._waited(waiter))
        session.keep_parked = False
        try:
            path = await ensure_prompt(BOOKED_TEXT, self.sounds_dir)
            await session.play([sound(path)], name="callback_booked", last=True)
        except PromptError as exc:
            log.error("callback confirmation not synthesized: %s", exc)
        await session.hangup("normal")
        return True

    async def _confirm_number(self, session: CallSession, waiter: Waiter) -> str | None:
        """The caller's number if confirmed with 1, else the number keyed in (checked); None if none."""
        assert self.callbacks is not None
        own = session.caller_number if self.callbacks.usable(session.caller_number) else ""
        for _ in range(2):
            text = CONFIRM_TEXT.format(tail=phone_digits(own[-4:])) if own else ASK_NUMBER_TEXT
            first = await self._prompt_racing(session, waiter, text, interrupt="0123456789#")
            if waiter.answered.done():
                return None
            got = await session.collect(max_digits=20, first_timeout=8.0, inter_timeout=5.0, terminator="#",
                                        first=first)
            if own and got.digits in ("1", ""):
                return own
            if self.callbacks.usable(got.digits):
                return got.digits
            await self._prompt_racing(session, waiter, BAD_NUMBER_TEXT, interrupt="")
        return None

    async def _prompt_racing(self, session: CallSession, waiter: Waiter, text: str, *, interrupt: str) -> str | None:
        """Plays ``text`` (interruptible by ``interrupt``) unless an agent answers first; the key pressed."""
        try:
            path = await ensure_prompt(text, self.sounds_dir)
        except PromptError as exc:
            log.error("callback prompt not synthesized: %s", exc)
            return None
        return await self._play_racing(session, waiter, path, name="callback_offer", interrupt=interrupt or None)

    @staticmethod
    async def _play_racing(session: CallSession, waiter: Waiter, path: Path, *, name: str,
                           interrupt: str | None) -> str | None:
        """Plays ``path`` to its end (or a key in ``interrupt``), cut short when an agent answers."""
        play = asyncio.ensure_future(session.play([sound(path)], interrupt_digits=interrupt, name=name, last=True))
        try:
            racing: set[asyncio.Future[Any]] = {play, waiter.answered}
            done, _ = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
            if play not in done:
                await session.stop_playbacks()
            return await play
        finally:
            if not play.done():
                play.cancel()

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
            by = await self._talk(session, ring, settings)
        except asyncio.CancelledError:
            # The daemon stops: the conversation goes on in Asterisk and the next daemon follows it.
            stopping = True
            raise
        finally:
            if (talked or session.gone) and not stopping:
                service.agent_leg_done(ring, talked=True, wrap_up=settings.wrap_up)
        await self._after(session, by, ring.agent, settings)
        return True

    async def converse(self, session: CallSession, ring: Ring, settings: QueueSettings) -> str:
        """A call the daemon placed (a callback, click-to-dial): bridges, records and follows the
        conversation to its end like a queued call's, then the agent's wrap-up. Who hung up first;
        the other side is hung up."""
        stopping = False
        try:
            by = await self._talk(session, ring, settings)
        except asyncio.CancelledError:
            stopping = True  # the daemon stops: the conversation goes on, the next daemon follows it
            raise
        finally:
            if not stopping:
                self.service.agent_leg_done(ring, talked=True, wrap_up=settings.wrap_up)
        if by == "agent":
            await session.hangup("normal")
        return by

    async def _after(self, session: CallSession, by: str, agent: str, settings: QueueSettings) -> None:
        """The agent hung up first: the caller may hear what follows (the survey), then is hung up."""
        if by != "agent":
            return
        if self.after_talk is not None:
            try:
                await self.after_talk(session, agent, settings)
            except CallerHungUp:
                return
        await session.hangup("normal")

    async def _talk(self, session: CallSession, ring: Ring, settings: QueueSettings) -> str:
        """Bridges (and records) the two until one hangs up; who did ("caller" or "agent")."""
        ari = self.service.ari
        bridge_id = f"call-{session.call_id}"
        await ari.create_bridge(bridge_id, kind="mixing", name=f"callcore {session.call_id}")
        stopping = False
        try:
            await ari.add_to_bridge(bridge_id, [session.channel_id, ring.channel_id])
            if self.recorder is not None:
                # Returns at once; a recording that fails is logged and stored, the call goes on.
                await self.recorder.start(call_id=session.call_id, channel_id=session.channel_id,
                                          bridge_id=bridge_id, agent=ring.agent, queue=settings.name)
            session.event(ev.BRIDGED, agent=ring.agent, bridge_id=bridge_id)
            session.event(ev.TALK_STARTED, agent=ring.agent)
            return await self._until_one_leaves(session, ring, settings)
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

    async def _until_one_leaves(self, session: CallSession, ring: Ring, settings: QueueSettings) -> str:
        """Until the caller or the agent hangs up; which one ("caller" or "agent")."""
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
        return by

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
            by = await self._until_one_leaves(session, ring, settings or _NO_SETTINGS)
            if by == "agent":
                await session.hangup("normal")
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
