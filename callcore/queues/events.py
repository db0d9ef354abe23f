"""What a queued call's timeline events carry: the ``data`` keys of each and the reasons they name.

The names themselves are the call timeline's vocabulary (``callcore/calls/events.py``, one
spelling per name); the journal stores every event as ``(type, at, data)``, and the outcome
classifier and the figures read them back, so the keys and reasons below are a contract between
the daemon that emits and the reports that count.

- ``ivr_left``: how (queue, voicemail, callback, hangup, caller_hangup), node, target, reason.
- ``ivr_node``: node, kind; a lookup node adds found (bool) and status.
- ``ended``: by (caller, system, unknown), cause, cause_text.
- ``talk_started``: emitted by the agent leg once the conversation runs.
- ``queue_entered``: queue, position (1-based place in that queue's line), priority, seq (tie-break).
- ``agent_ringing``: queue, agent, attempt (1-based count of rings for this caller).
- ``agent_ring_ended``: queue, agent, reason (one of RING_REASONS).
- ``announcement``: kind (one of ANNOUNCEMENT_KINDS), position, expected_seconds, text.
- ``agent_answered``: queue, agent; speed of answer is measured to here (the T-7 announcement follows).
- ``bridged``: agent, bridge_id; caller and agent hear each other from here.
- ``queue_left``: queue, reason (one of LEFT_REASONS), position (at that moment), waited (seconds).
- ``callback_requested``: number (to call back), queue; the callback task exists (T-11).
"""

from __future__ import annotations

from typing import Final

from callcore.calls.events import (
    AGENT_ANSWERED,
    AGENT_RING_ENDED,
    AGENT_RINGING,
    ANNOUNCEMENT,
    ANSWERED,
    ARRIVED,
    BRIDGED,
    CALLBACK_REQUESTED,
    ENDED,
    HANDED_OFF,
    HANGUP_REQUESTED,
    IVR_ENTERED,
    IVR_LEFT,
    IVR_NODE,
    QUEUE_ENTERED,
    QUEUE_LEFT,
    REFUSED,
    TALK_STARTED,
    VOICEMAIL_LEFT,
)

__all__ = [
    "AGENT_ANSWERED", "AGENT_RING_ENDED", "AGENT_RINGING", "ANNOUNCEMENT", "ANSWERED", "ARRIVED", "BRIDGED",
    "CALLBACK_REQUESTED", "ENDED", "HANDED_OFF", "HANGUP_REQUESTED", "IVR_ENTERED", "IVR_LEFT", "IVR_NODE",
    "QUEUE_ENTERED", "QUEUE_LEFT", "REFUSED", "TALK_STARTED", "VOICEMAIL_LEFT",
]

# -- AGENT_RING_ENDED reasons -------------------------------------------------------------------
RING_ANSWERED: Final = "answered"
RING_NO_ANSWER: Final = "no_answer"  # ring_timeout passed
RING_BUSY: Final = "busy"  # the phone declined or was busy
RING_UNREACHABLE: Final = "unreachable"  # not registered, or the dial failed
RING_CANCELLED: Final = "cancelled"  # another agent answered (ringall) or the strategy moved on
RING_CALLER_GONE: Final = "caller_hangup"  # the caller hung up while this phone rang
RING_REASONS: Final = (RING_ANSWERED, RING_NO_ANSWER, RING_BUSY, RING_UNREACHABLE, RING_CANCELLED, RING_CALLER_GONE)
# The reasons that count against the agent (T-6: "skipped and the attempt is counted").
RING_MISSED: Final = frozenset({RING_NO_ANSWER, RING_BUSY, RING_UNREACHABLE})

# -- QUEUE_LEFT reasons --------------------------------------------------------------------------
LEFT_ANSWERED: Final = "answered"
LEFT_CALLER_HANGUP: Final = "caller_hangup"
LEFT_TIMEOUT: Final = "timeout"  # max_wait reached; what follows is the queue's on_max_wait
LEFT_VOICEMAIL: Final = "voicemail"  # the caller chose to leave a message
LEFT_CALLBACK: Final = "callback"  # the caller chose to be called back
LEFT_SYSTEM: Final = "system"  # the queue closed or the daemon handed the call away
LEFT_REASONS: Final = (LEFT_ANSWERED, LEFT_CALLER_HANGUP, LEFT_TIMEOUT, LEFT_VOICEMAIL, LEFT_CALLBACK, LEFT_SYSTEM)

# -- ANNOUNCEMENT kinds ---------------------------------------------------------------------------
ANNOUNCE_POSITION: Final = "position"  # periodic position / expected wait (T-5)
ANNOUNCE_AGENT: Final = "agent_number"  # "NNNN号话务员为您服务" (T-7)
ANNOUNCEMENT_KINDS: Final = (ANNOUNCE_POSITION, ANNOUNCE_AGENT)
