"""The call timeline's vocabulary (C-1): each event's name, the ``data`` keys it carries and the
reasons it names, and the record every producer emits.

The journal stores every event as ``(type, at, data)``; the outcome classifier (``outcomes.py``)
and the figures read them back, so the names, keys and reasons below are a contract between the
flows that emit and the reports that count. One spelling per name: capabilities above ``calls``
(the IVR, the queues) emit these names, they do not define their own.

- ``arrived``: channel_id, caller_number, caller_name, dialed, direction (the Stasis kind), args.
- ``ivr_left``: how (queue, voicemail, callback, hangup, caller_hangup), node, target, reason.
- ``ivr_node``: node, kind; a lookup node adds found (bool) and status; a hangup node's kind is
  ``hangup`` (its closing message follows).
- ``ended``: by (caller, system, unknown), cause, cause_text.
- ``talk_started``: emitted by the agent leg once the conversation runs.
- ``talk_ended``: agent, by (one of TALK_ENDED_BY), wrap_up (seconds of wrap-up the queue gives the
  agent after this call); the caller–agent conversation is over (before ``ended``, and before a
  survey: that is not handle time).
- ``queue_entered``: queue, position (1-based place in that queue's line), priority, seq (tie-break);
  ``again`` when an agent picked up and let the call go before the conversation (back in the same place).
- ``agent_ringing``: queue, agent, attempt (1-based count of rings for this caller).
- ``agent_ring_ended``: queue, agent, reason (one of RING_REASONS).
- ``announcement``: kind (one of ANNOUNCEMENT_KINDS), position, expected_seconds, text.
- ``agent_answered``: queue, agent; speed of answer is measured to here (the T-7 announcement follows).
- ``bridged``: agent, bridge_id; caller and agent hear each other from here.
- ``queue_left``: queue, reason (one of LEFT_REASONS), position (at that moment), waited (seconds).
- ``callback_requested``: number (to call back), queue; the callback task exists (T-11).
- ``voicemail_left``: mailbox, msg_id, seconds, recording; ``via`` is ``fallback`` for a message
  the dialplan took while the daemon was away.
- ``outbound_dialing``: trunk, timeout; the daemon dials the citizen (a callback, click-to-dial).
- ``outbound_answered``: the citizen picked up. ``outbound_failed``: reason (no_answer, busy,
  failed, no_trunk), cause.
- ``callback_attempt``: task_id, n (1-based), origin; this call is attempt n of a callback task.
- ``callback_offered``: queue, position, expected_seconds; ``callback_declined``: why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

# -- names: later capabilities add their own here, once -------------------------------------------
ARRIVED: Final = "arrived"
ANSWERED: Final = "answered"
PROMPT_STARTED: Final = "prompt_started"
PROMPT_FINISHED: Final = "prompt_finished"
IVR_ENTERED: Final = "ivr_entered"
IVR_LEFT: Final = "ivr_left"
IVR_NODE: Final = "ivr_node"
DTMF: Final = "dtmf"
TIMEOUT: Final = "timeout"
ATTRIBUTE_SET: Final = "attribute_set"
QUEUE_ENTERED: Final = "queue_entered"
AGENT_RINGING: Final = "agent_ringing"
AGENT_RING_ENDED: Final = "agent_ring_ended"
ANNOUNCEMENT: Final = "announcement"
TALK_STARTED: Final = "talk_started"
HOLD: Final = "hold"
TRANSFER: Final = "transfer"
SURVEY: Final = "survey"
REFUSED: Final = "refused"
RECONCILED: Final = "reconciled"
HANGUP_REQUESTED: Final = "hangup_requested"
HANDED_OFF: Final = "handed_off"
VOICEMAIL_LEFT: Final = "voicemail_left"
ENDED: Final = "ended"
# Queues (T-5..T-7): an agent picked up; caller and agent bridged; the caller left the queue;
# a callback was asked for instead of waiting; the conversation with the agent is over.
AGENT_ANSWERED: Final = "agent_answered"
BRIDGED: Final = "bridged"
QUEUE_LEFT: Final = "queue_left"
CALLBACK_REQUESTED: Final = "callback_requested"
TALK_ENDED: Final = "talk_ended"
# Calls the hotline places (T-11, T-12): dialling the citizen through the trunk, and callbacks.
OUTBOUND_DIALING: Final = "outbound_dialing"
OUTBOUND_ANSWERED: Final = "outbound_answered"
OUTBOUND_FAILED: Final = "outbound_failed"
CALLBACK_ATTEMPT: Final = "callback_attempt"
CALLBACK_OFFERED: Final = "callback_offered"
CALLBACK_DECLINED: Final = "callback_declined"
# The post-call survey (T-14; W-12's survey calls): the caller keyed a rating (rating 1-4,
# satisfaction, kind inbound|outbound, agent, queue, ticket_id, attempt), or was not rated (why:
# no_key, wrong_key, caller_hangup, no_prompt; kind, agent, queue, ticket_id).
SURVEY_RATED: Final = "survey_rated"
SURVEY_SKIPPED: Final = "survey_skipped"

# -- AGENT_RING_ENDED reasons ---------------------------------------------------------------------
RING_ANSWERED: Final = "answered"
RING_NO_ANSWER: Final = "no_answer"  # ring_timeout passed
RING_BUSY: Final = "busy"  # the phone declined or was busy
RING_UNREACHABLE: Final = "unreachable"  # not registered, or the dial failed
RING_CANCELLED: Final = "cancelled"  # another agent answered (ringall) or the strategy moved on
RING_CALLER_GONE: Final = "caller_hangup"  # the caller hung up while this phone rang
RING_REASONS: Final = (RING_ANSWERED, RING_NO_ANSWER, RING_BUSY, RING_UNREACHABLE, RING_CANCELLED, RING_CALLER_GONE)
# The reasons that count against the agent (T-6: "skipped and the attempt is counted").
RING_MISSED: Final = frozenset({RING_NO_ANSWER, RING_BUSY, RING_UNREACHABLE})

# -- QUEUE_LEFT reasons ---------------------------------------------------------------------------
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

# -- TALK_ENDED: who ended the conversation -------------------------------------------------------
TALK_ENDED_BY: Final = ("caller", "agent", "system")


@dataclass(frozen=True, slots=True)
class CallEventRecord:
    """One timeline event as produced; ``id`` is generated by the producer so replays are idempotent."""

    id: str
    call_id: str
    seq: int
    at: datetime
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "seq": self.seq,
            "at": self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "type": self.type,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CallEventRecord:
        return cls(
            id=raw["id"],
            call_id=raw["call_id"],
            seq=int(raw["seq"]),
            at=datetime.fromisoformat(raw["at"].replace("Z", "+00:00")),
            type=raw["type"],
            data=dict(raw.get("data") or {}),
        )


# The namespace of call ids derived from channel ids (``call_id_for``): fixed forever.
_CHANNEL_CALLS: Final = uuid.UUID("5b0c6f3e-9a51-4d0e-8c3a-96881ca11c0e")


def call_id_for(channel_id: str) -> str:
    """The call id of a citizen's channel entering the Stasis app, derived from the channel (Asterisk's
    unique id: ``<epoch>.<n>``, prefixed by its ``systemname`` when several Asterisks share a store).

    A restarted daemon resuming the parked channel gets the same id without asking the store, so a
    database outage during the restart cannot open a second row for the call (issue 12)."""
    return str(uuid.uuid5(_CHANNEL_CALLS, channel_id))
