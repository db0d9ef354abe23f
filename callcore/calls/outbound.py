"""Calls the hotline places to citizens through the trunk (callbacks, click-to-dial, survey calls).

The daemon originates the citizen's channel into its own Stasis app with a channel id it chose, so
the channel's events feed a ``CallSession`` from the first one: a refusal or no answer ends the
session with Asterisk's cause, an answer is the channel entering the app. The call has its own
record like an inbound one (``arrived`` with the direction, ended when the channel ends).

Every number is checked against the dialling policy first: the hotline must never call a premium,
international or malformed number because a form or a caller ID said so.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Any

from callcore.ari.client import AriClient
from callcore.ari.errors import AriError
from callcore.calls import events as ev
from callcore.calls.journal import CallJournal
from callcore.calls.session import CallSession
from callcore.calls.stasis import StasisApp
from callcore.core.errors import InvalidInput

# The Stasis kind of channels the daemon dials to citizens.
OUTBOUND_KIND = "outbound"

# Q.850 causes of an outbound channel that ended before it was answered.
_BUSY = frozenset({17, 21})
_NO_ANSWER = frozenset({16, 18, 19, 0})
_DIGITS = re.compile(r"^[0-9]{3,20}$")


class NumberRefused(InvalidInput):
    """The number may not be dialled (malformed, or no allowed prefix)."""

    error_id = "number_refused"


@dataclass(frozen=True)
class NumberPolicy:
    """Which numbers the hotline may dial: digits only, a length in range and one of the allowed
    prefixes (mobile numbers, which start with 1, must have 11 digits). The defaults allow Chinese
    mobile numbers, domestic numbers with an area code and local numbers; international (00),
    premium and service numbers are refused unless an admin adds their prefix."""

    prefixes: tuple[str, ...]
    min_length: int = 7
    max_length: int = 12

    @classmethod
    def parse(cls, prefixes: str, *, min_length: int = 7, max_length: int = 12) -> NumberPolicy:
        items = tuple(p.strip() for p in prefixes.split(",") if p.strip())
        bad = [p for p in items if not p.isdigit()]
        if bad:
            raise ValueError(f"allowed prefixes must be digits: {', '.join(bad)}")
        return cls(prefixes=items, min_length=min_length, max_length=max_length)

    def check(self, number: str) -> str:
        """The number to dial (spaces and dashes removed), or ``NumberRefused`` saying why."""
        digits = re.sub(r"[\s-]", "", number or "")
        if not _DIGITS.match(digits):
            raise NumberRefused("号码只能包含数字" if digits else "号码为空")
        if not self.min_length <= len(digits) <= self.max_length:
            raise NumberRefused(f"号码长度应为{self.min_length}到{self.max_length}位")
        if digits.startswith("1") and len(digits) != 11:
            raise NumberRefused("手机号码应为11位")
        if not any(digits.startswith(p) for p in self.prefixes):
            raise NumberRefused("该号码不在允许外呼的号段内")
        return digits

    def usable(self, number: str) -> bool:
        try:
            self.check(number)
        except NumberRefused:
            return False
        return True


@dataclass(frozen=True)
class DialResult:
    """How the dialling ended: ``answered``, or why not (``no_answer``, ``busy``, ``failed``)."""

    reason: str
    cause: int | None = None

    @property
    def answered(self) -> bool:
        return self.reason == "answered"


class OutboundDialer:
    def __init__(self, *, ari: AriClient, stasis: StasisApp, journal: CallJournal, trunk: str, caller_id: str,
                 policy: NumberPolicy) -> None:
        self.ari = ari
        self.stasis = stasis
        self.journal = journal
        self.trunk = trunk
        self.caller_id = caller_id
        self.policy = policy

    @property
    def configured(self) -> bool:
        """A trunk to dial through is set (``asterisk.outbound_trunk``)."""
        return bool(self.trunk)

    def open(self, *, call_id: str, number: str, direction: str, attributes: dict[str, Any] | None = None,
             arrived: bool = True) -> CallSession:
        """The session of a citizen's channel about to be dialled (``arrived``: open its call record)."""
        number = self.policy.check(number)
        session = CallSession(ari=self.ari, journal=self.journal, call_id=call_id,
                              channel_id=f"out-{uuid.uuid4()}", caller_number=number, dialed=number,
                              attributes=attributes)
        if arrived:
            session.event(ev.ARRIVED, channel_id=session.channel_id, caller_number=number, caller_name="",
                          dialed=number, direction=direction, args=[OUTBOUND_KIND, call_id])
        return session

    async def dial(self, session: CallSession, *, timeout: float, originator: str | None = None) -> DialResult:
        """Rings the citizen through the trunk until answered, refused or ``timeout`` seconds."""
        if not self.configured:
            session.event(ev.OUTBOUND_FAILED, reason="no_trunk")
            session.on_hangup(cause=None, cause_text="no outbound trunk configured")
            self.stasis.close(session)
            return DialResult("failed")
        self.stasis.expect(session)
        session.event(ev.OUTBOUND_DIALING, trunk=self.trunk, timeout=timeout)
        try:
            await self.ari.originate(
                f"PJSIP/{session.dialed}@{self.trunk}", channel_id=session.channel_id,
                app_args=f"{OUTBOUND_KIND},{session.call_id}", caller_id=self.caller_id,
                timeout=max(1, round(timeout)), originator=originator)
        except AriError as exc:
            session.event(ev.OUTBOUND_FAILED, reason="failed", error=str(exc)[:200])
            session.on_hangup(cause=None, cause_text="dial failed")
            self.stasis.close(session)
            return DialResult("failed")
        started = asyncio.ensure_future(session.wait_started())
        gone = asyncio.ensure_future(session.wait_gone())
        try:
            await asyncio.wait({started, gone}, timeout=timeout + 5, return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
            gone.cancel()
        if session.answered and not session.gone:
            session.event(ev.OUTBOUND_ANSWERED)
            return DialResult("answered")
        if not session.gone:  # Asterisk did not end it in time: the daemon does
            await session.hangup("normal")
            result = DialResult("no_answer")
        else:
            result = DialResult(_reason(session.hangup_cause), session.hangup_cause)
        session.event(ev.OUTBOUND_FAILED, reason=result.reason, **({"cause": result.cause} if result.cause else {}))
        return result


def _reason(cause: int | None) -> str:
    if cause in _BUSY:
        return "busy"
    if cause in _NO_ANSWER or cause is None:
        return "no_answer"
    return "failed"
