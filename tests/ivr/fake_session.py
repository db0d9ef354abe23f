"""A scripted caller for engine tests: what they key, when they stay silent, when they hang up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcore.calls import events as ev
from callcore.calls.session import CallerHungUp

HANGUP = "HANGUP"


@dataclass(frozen=True)
class Result:
    digits: str
    ended_by: str


class FakeSession:
    """``script`` items: digits keyed at the next wait ("1", "12345678#"), ``None`` for silence, ``HANGUP``;
    ``("during", "1")`` keys "1" during the next prompt that can be interrupted."""

    def __init__(self, script: list[Any], *, attributes: dict[str, Any] | None = None) -> None:
        self.script = list(script)
        self.call_id = "call-1"
        self.channel_id = "chan-1"
        self.caller_number = "13800138000"
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.played: list[tuple[str, list[str]]] = []
        # Prompts played as the last thing before a hang-up (no silence queued behind them).
        self.last_prompts: list[str] = []
        self.hung_up: str | None = None
        self.answered = False

    def event(self, type_: str, **data: Any) -> None:
        self.events.append((type_, data))

    def set_attribute(self, name: str, value: Any) -> None:
        self.attributes[name] = value
        self.event(ev.ATTRIBUTE_SET, name=name, value=value)

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == type_]

    @property
    def nodes(self) -> list[str]:
        return [d["node"] for d in self.of(ev.IVR_NODE) if "retry" not in d and "found" not in d and "unavailable" not in d]

    async def answer(self) -> None:
        self.answered = True

    async def play(self, media: list[str], *, interrupt_digits: str | None = None, name: str = "", last: bool = False) -> str | None:
        if last:
            self.last_prompts.append(name)
        if self.script and self.script[0] == HANGUP:
            self.script.pop(0)
            raise CallerHungUp(self.channel_id)
        self.played.append((name, media))
        if interrupt_digits and self.script and isinstance(self.script[0], tuple):
            _, digit = self.script.pop(0)
            self.event(ev.DTMF, digit=digit)
            return str(digit)
        return None

    async def collect(self, *, max_digits: int, first_timeout: float, inter_timeout: float,
                      terminator: str | None = "#", first: str | None = None) -> Result:
        digits = first or ""
        if not self.script:
            raise AssertionError(f"the script ran out at a wait (played: {[n for n, _ in self.played][-3:]})")
        item = self.script.pop(0)
        if item == HANGUP:
            raise CallerHungUp(self.channel_id)
        if item is None:
            self.event(ev.TIMEOUT, collected=digits, after=first_timeout)
            return Result(digits, "timeout")
        for d in item:
            self.event(ev.DTMF, digit=d)
            if terminator and d == terminator:
                return Result(digits, "terminator")
            digits += d
            if len(digits) >= max_digits:
                return Result(digits, "max_digits")
        self.event(ev.TIMEOUT, collected=digits, after=inter_timeout)
        return Result(digits, "timeout")

    async def hangup(self, reason: str = "normal") -> None:
        self.hung_up = reason
