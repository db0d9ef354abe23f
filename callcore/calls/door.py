"""The door: calls that end before they reach the Stasis app, stored from Asterisk's AMI events.

The daemon hears of a citizen's call over ARI only when it enters the Stasis app. Before that the
dialplan (``[from-trunk]`` in ``asterisk-conf/extensions.conf.j2``) may refuse it at the door (the
channel limit), answers it, asks the routing step (FastAGI) and plays a second of silence; and
Asterisk may refuse it before any dialplan runs. A call that ends there never reaches the app and
would leave no trace, yet C-1 wants every call's timeline and C-2 counts exactly these: callers
lost before the menus, calls refused at the door. So the door follows, over AMI, every channel
Asterisk creates for the hotline in ``from-trunk``, from ``Newchannel`` to ``Hangup``, and when
one ended without entering the app it writes the call through the journal, at Asterisk's times:

- ``arrived`` at the ``Newchannel`` (caller, dialed, ``channel_id``: AMI's ``Uniqueid`` is ARI's
  channel id), ``answered`` at the ``Newstate`` to Up (the dialplan answers before routing);
- ``refused`` with the ``reason`` the dialplan recorded when it refused the call (``channel_limit``;
  ``policy`` for the routing step's refusal of a call the app could not take), or ``overload`` when
  Asterisk refused the call itself (below);
- ``handed_off`` when the app was not there and the dialplan's fallback took the call: a message
  left there is joined to this call by the fallback import, as for a call the daemon hands back at
  shutdown;
- ``ended`` at the ``Hangup``, with its cause and cause text; ``by`` is ``caller`` when the channel
  driver asked for the hang-up (a ``HangupRequest``: the caller's BYE or CANCEL), else ``system``
  (the dialplan's ``Hangup``, its time limit, Asterisk's refusal: a ``SoftHangupRequest`` or none).

The journal then classifies the call like any other (a caller who left before the menus is lost in
the IVR; a refused call is refused).

The dialplan's verdicts come as channel variables on the ``Hangup`` (manager.conf ``channelvars``):
``CALLCORE_REFUSED=<reason>@<when>`` and ``CALLCORE_FALLBACK=fallback@<when>``, ``when`` in Unix
seconds with milliseconds. Not a ``UserEvent``: app_userevent is one more module to load, and a
dialplan application that is missing ends the dialplan, cutting off the very callers the fallback
is for, where a ``Set`` cannot fail; and riding on the ``Hangup``, where the door decides, the
verdict cannot be lost or reordered apart from it.

Whether a channel entered the app is the daemon's own knowledge, not Asterisk's: the door reads the
journal's live feed, where every producer that opens a call row for a channel says so (``arrived``
with its ``channel_id``: the Stasis app at ``StasisStart``, the reconciler for a parked channel).
The alternatives are weaker: AMI ``Newexten``/``VarSet`` with ``Application=Stasis`` need the
``dialplan`` event class (an event per dialplan step, for every call) and only say that Stasis()
ran, which fails at once when the daemon's ARI is away; ``StasisApp.sessions`` forgets a channel at
its ``ChannelDestroyed``, which races the AMI ``Hangup``. ARI and AMI are two sockets, so the door
decides ``GRACE`` seconds after the ``Hangup``, and remembers for a while an arrival reported before
AMI delivered the channel's ``Newchannel``.

Asterisk's own refusal (``maxcalls``, ``maxload``, ``minmemfree`` in ``asterisk.conf``): Asterisk
checks them when it starts the dialplan on a channel it has already created (``increase_call_count``
in ``main/pbx.c``); chan_pjsip then hangs the channel up with cause 42 (``pbx_start_incoming_request``
in ``channels/chan_pjsip.c``) and the caller gets ``503`` (``Reason: Q.850;cause=42``). AMI shows a
``Newchannel`` (state Ring) followed at once by a ``Hangup`` with cause 42 and nothing between: no
answer, no dialplan event, no hang-up request. The door stores such a channel as ``refused``,
reason ``overload``. No AMI event says which limit it was, nor tells it apart from the dialplan
failing to start for another reason (Asterisk not fully booted, no thread left): those take the same
path and cause. Only Asterisk's log names it ("Maximum call limit of N calls exceeded", "Maximum
loadavg limit ...", "Available system memory ... below the configured low watermark"); security
events (class ``security``) report unidentified endpoints, ACLs and authentication only
(``res/res_pjsip/pjsip_distributor.c``), never a refusal for load. ``maxcalls`` counts channels
running dialplan (a PBX thread each), not all channels.

What the door cannot know:

- Refusals before a channel exists raise no AMI event: res_pjsip's overload guard ignores a new
  INVITE while Asterisk's task queues are backed up (UDP: no answer, the caller's phone retransmits;
  TCP/TLS: 503; ``res/res_pjsip/pjsip_distributor.c``), and res_pjsip answers some INVITEs itself
  before making a channel (404 for an unknown extension, 488 when no codec is in common;
  ``new_invite`` in ``res/res_pjsip_session.c``).
- Channels created while the daemon's AMI session was down, or before it started: their
  ``Newchannel`` was never seen, so if they end before the app the door does not store them (the
  CDR ledger does, from Asterisk's own record: ``ledger.py``); a channel whose ``Hangup`` was missed
  that way is forgotten after ``max_age``.
- A message left with the fallback while the daemon's ARI was away joins the call the door wrote
  only if the door wrote it (``GRACE`` after the hang-up) before the reconnecting daemon imported
  the message; otherwise the message is imported as a call of its own, and the call counts twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from callcore.ami.types import AmiMessage, EventHandler
from callcore.asterisk.quirks import NORMAL_CLEARING
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.core.bus import EventBus, Subscription
from callcore.store.base import utcnow

log = logging.getLogger(__name__)

# The dialplan context citizens' calls arrive in (asterisk-conf/pjsip.conf.j2, the trunk's endpoint).
HOTLINE_CONTEXT: Final = "from-trunk"
# Seconds between a Hangup and the decision: an ARI StasisStart sent just before may still be on its way.
GRACE: Final = 2.0
# Seconds an arrival over ARI is kept for a channel whose Newchannel AMI has not delivered yet.
ENTERED_TTL: Final = 120.0
# ``via`` of the calls the door writes (and of their ``arrived`` on the feed, which it skips).
VIA: Final = "door"
# The AMI events the door follows (class ``call``), each handled by ``on_<name>``.
AMI_EVENTS: Final = ("Newchannel", "Newstate", "HangupRequest", "SoftHangupRequest", "Hangup")
# The dialplan's verdicts (extensions.conf.j2; manager.conf.j2 ``channelvars`` sends them).
REFUSED_VAR: Final = "CALLCORE_REFUSED"
FALLBACK_VAR: Final = "CALLCORE_FALLBACK"
# AST_CAUSE_SWITCH_CONGESTION: chan_pjsip's cause when Asterisk will not start the dialplan.
OVERLOAD_CAUSE: Final = 42
OVERLOAD: Final = "overload"
# AST_STATE_UP in a Newstate's ChannelState.
STATE_UP: Final = "6"
# What AMI writes for a caller ID that is not there.
_UNKNOWN = frozenset({"", "<unknown>"})


@dataclass(slots=True)
class _Channel:
    """What AMI said of one hotline channel, until it ends or enters the Stasis app."""

    channel_id: str
    arrived_at: datetime
    caller_number: str
    caller_name: str
    dialed: str
    seen: float  # the loop's clock at the Newchannel, to forget channels whose Hangup never came
    answered_at: datetime | None = None
    caller_left: bool = False  # a HangupRequest: the channel driver (the caller's side) ended it
    soft_hangup: bool = False  # a SoftHangupRequest: something in Asterisk ended it
    ended: _Ending | None = None
    decision: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class _Ending:
    at: datetime
    cause: int | None
    cause_text: str
    # The dialplan's verdicts: (when, what), from the Hangup's channel variables.
    refused: tuple[datetime, str] | None = None
    fallback: tuple[datetime, str] | None = None


def event_time(event: AmiMessage) -> datetime:
    """The event's ``Timestamp`` (manager.conf ``timestampevents``: Unix seconds, a fraction) in UTC to the
    millisecond; now without one. Read as digits, not a float: a float of today's Unix time keeps about
    0.2 µs, enough to turn .997 into .996 once cut to the millisecond."""
    seconds, _, fraction = event.get("Timestamp", "").strip().partition(".")
    if not seconds.isdigit() or not (fraction == "" or fraction.isdigit()):
        return utcnow()
    try:
        at = datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return utcnow()
    return at + timedelta(milliseconds=int((fraction + "000")[:3]))


def _caller_id(value: str | None) -> str:
    return "" if value is None or value in _UNKNOWN else value


def _cause(event: AmiMessage) -> int | None:
    try:
        return int(event.get("Cause", ""))
    except ValueError:
        return None


def channel_variables(event: AmiMessage) -> dict[str, str]:
    """The ``ChanVariable: NAME=value`` headers (one per line once parsed), empty values left out."""
    found = {}
    for line in event.get("ChanVariable", "").split("\n"):
        name, sep, value = line.partition("=")
        if sep and value:
            found[name] = value
    return found


def verdict(value: str | None, default_at: datetime) -> tuple[datetime, str] | None:
    """``what@when`` (when: Unix seconds with milliseconds) -> (when, what); ``default_at`` without a time."""
    if not value:
        return None
    what, _, when = value.partition("@")
    at = event_time({"Timestamp": when}) if when else default_at
    return at, what or "unknown"


class Door:
    """Follows the hotline's channels over AMI; writes the calls that never entered the Stasis app.

    ``handlers()`` are the AMI handlers (cheap, never block); ``run(bus)`` reads the journal's live
    feed; ``flush()`` at shutdown decides the hang-ups still in their grace.
    """

    def __init__(self, *, journal: CallJournal, hotline: str, context: str = HOTLINE_CONTEXT, grace: float = GRACE,
                 max_age: float = 7200.0 + 60.0) -> None:
        """``max_age``: seconds after which a channel with no Hangup seen is forgotten (the dialplan's
        call limit and a margin: its Hangup was lost with an AMI session)."""
        self.journal = journal
        self.hotline = hotline
        self.context = context
        self.grace = grace
        self.max_age = max_age
        self.written = 0
        self._channels: dict[str, _Channel] = {}
        # Channels the feed reported in the app before AMI's Newchannel arrived: id -> loop time.
        self._entered: dict[str, float] = {}
        self._feed: Subscription | None = None
        self._handlers: dict[str, EventHandler] = {name: getattr(self, f"on_{name}") for name in AMI_EVENTS}

    def handlers(self) -> Mapping[str, EventHandler]:
        """AMI event name -> handler."""
        return dict(self._handlers)

    @property
    def tracked(self) -> int:
        """Hotline channels followed now (not yet in the app, not yet decided)."""
        return len(self._channels)

    # -- AMI ---------------------------------------------------------------------------
    def on_Newchannel(self, event: AmiMessage) -> None:
        channel_id = event.get("Uniqueid", "")
        if event.get("Context") != self.context or event.get("Exten") != self.hotline or not channel_id:
            return
        if channel_id in self._channels:
            return
        now = asyncio.get_running_loop().time()
        self._forget_old(now)
        if self._entered.pop(channel_id, None) is not None:
            return  # the feed reported it in the app before AMI delivered this
        self._channels[channel_id] = _Channel(
            channel_id=channel_id, arrived_at=event_time(event), caller_number=_caller_id(event.get("CallerIDNum")),
            caller_name=_caller_id(event.get("CallerIDName")), dialed=event.get("Exten", ""), seen=now,
        )

    def on_Newstate(self, event: AmiMessage) -> None:
        channel = self._channel(event)
        if channel is not None and channel.answered_at is None and event.get("ChannelState") == STATE_UP:
            channel.answered_at = event_time(event)

    def on_HangupRequest(self, event: AmiMessage) -> None:
        channel = self._channel(event)
        if channel is not None:
            channel.caller_left = True

    def on_SoftHangupRequest(self, event: AmiMessage) -> None:
        channel = self._channel(event)
        if channel is not None:
            channel.soft_hangup = True

    def on_Hangup(self, event: AmiMessage) -> None:
        channel = self._channel(event)
        if channel is None or channel.ended is not None:
            return
        at = event_time(event)
        variables = channel_variables(event)
        channel.ended = _Ending(at, _cause(event), event.get("Cause-txt", ""),
                                refused=verdict(variables.get(REFUSED_VAR), at),
                                fallback=verdict(variables.get(FALLBACK_VAR), at))
        channel.decision = asyncio.get_running_loop().call_later(self.grace, self._decide, channel.channel_id)

    def _channel(self, event: AmiMessage) -> _Channel | None:
        return self._channels.get(event.get("Uniqueid", ""))

    # -- the journal's feed ------------------------------------------------------------
    async def run(self, bus: EventBus) -> None:
        """Reads the journal's live feed until cancelled: which channels entered the app."""
        async with bus.subscribe() as feed:
            self._feed = feed
            try:
                while True:
                    self.on_call_event(await feed.get())
            finally:
                self._feed = None

    def on_call_event(self, item: Mapping[str, Any]) -> None:
        """One item of the live feed; an ``arrived`` naming a channel means a call row exists for it."""
        if item.get("kind") != "call_event" or item.get("type") != ev.ARRIVED:
            return
        data = item.get("data") or {}
        channel_id = str(data.get("channel_id") or "")
        if not channel_id or data.get("via") == VIA:
            return
        channel = self._channels.pop(channel_id, None)
        if channel is not None:
            if channel.decision is not None:
                channel.decision.cancel()
            return
        now = asyncio.get_running_loop().time()
        self._entered[channel_id] = now
        while self._entered:
            oldest, since = next(iter(self._entered.items()))
            if now - since <= ENTERED_TTL:
                break
            del self._entered[oldest]

    def _drain_feed(self) -> None:
        """What the feed holds already is read before a decision (it may be this channel's arrival)."""
        feed = self._feed
        while feed is not None and not feed.queue.empty():
            self.on_call_event(feed.queue.get_nowait())

    # -- deciding ----------------------------------------------------------------------
    def flush(self) -> None:
        """Decides now every hang-up still in its grace (shutdown: the journal is drained next)."""
        for channel in [c for c in self._channels.values() if c.decision is not None]:
            assert channel.decision is not None
            channel.decision.cancel()
            self._decide(channel.channel_id)

    def _decide(self, channel_id: str) -> None:
        self._drain_feed()
        channel = self._channels.pop(channel_id, None)
        if channel is None or channel.ended is None:
            return  # it entered the app: the Stasis app has its call
        self._write(channel, channel.ended)

    def _write(self, channel: _Channel, ended: _Ending) -> None:
        refused = ended.refused
        if (refused is None and channel.answered_at is None and not channel.caller_left and not channel.soft_hangup
                and ended.cause == OVERLOAD_CAUSE):
            refused = (ended.at, OVERLOAD)
        steps: list[tuple[datetime, str, dict[str, Any]]] = []
        if channel.answered_at is not None:
            steps.append((channel.answered_at, ev.ANSWERED, {"by": "dialplan"}))
        if refused is not None:
            steps.append((refused[0], ev.REFUSED, {"reason": refused[1]}))
        if ended.fallback is not None:
            steps.append((ended.fallback[0], ev.HANDED_OFF, {
                "context": self.context, "extension": self.hotline, "label": "fallback",
                "why": "the Stasis app was not connected",
            }))
        steps.sort(key=lambda step: step[0])  # stable: same-millisecond steps keep the order above
        call_id = self.journal.new_call_id()
        self.journal.emit(call_id, ev.ARRIVED, {
            "channel_id": channel.channel_id, "caller_number": channel.caller_number, "caller_name": channel.caller_name,
            "dialed": channel.dialed, "direction": "inbound", "via": VIA,
        }, at=channel.arrived_at)
        for at, type_, data in steps:
            self.journal.emit(call_id, type_, data, at=max(at, channel.arrived_at))
        cause, cause_text = ended.cause, ended.cause_text
        if channel.caller_left and not cause:
            # The caller's BYE, which Asterisk 22.7+ reports without a cause (quirks.bye_cause_missing).
            cause, cause_text = NORMAL_CLEARING, "Normal Clearing"
        self.journal.emit(call_id, ev.ENDED, {
            "by": "caller" if channel.caller_left else "system", "cause": cause, "cause_text": cause_text,
        }, at=max(ended.at, channel.arrived_at))
        self.written += 1
        log.info("call %s (channel %s) ended before the Stasis app: %s", call_id, channel.channel_id,
                 f"refused ({refused[1]})" if refused else "handed to the fallback" if ended.fallback
                 else "caller hung up" if channel.caller_left else f"ended by Asterisk ({ended.cause_text})")

    def _forget_old(self, now: float) -> None:
        """Channels whose Hangup never came (lost with an AMI session) are dropped, oldest first."""
        while self._channels:
            oldest = next(iter(self._channels.values()))
            if now - oldest.seen <= self.max_age or oldest.decision is not None:
                return
            del self._channels[oldest.channel_id]
            log.warning("channel %s: no Hangup seen in %.0f s; forgotten", oldest.channel_id, self.max_age)
