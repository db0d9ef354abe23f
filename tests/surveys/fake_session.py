"""A scripted caller for the survey flow: keys during a prompt or after it, silence, hanging up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcore.calls import events as ev
from callcore.calls.session import CallerHungUp

HANGUP = "HANGUP"


@dataclass(frozen=True)
class Keys:
    digits: str
    ended_by: str


class FakeSession:
    """``script`` items, one per wait: ``("during", "2")`` keys 2 during the next prompt; ``"2"`` keys it
    after the prompt; ``None`` stays silent; ``HANGUP`` hangs up at the next prompt or wait."""

    def __init__(self, script: list[Any], call_id: str = "call-1") -> None:
        self.script = list(script)
        self.call_id = call_id
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.played: list[tuple[str, list[str], bool]] = []
        self.cleared = 0

    def clear_digits(self) -> None:
        """Keys pressed before the survey are forgotten (the script holds only what comes after)."""
        self.cleared += 1

    def event(self, type_: str, **data: Any) -> None:
        self.events.append((type_, data))

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == type_]

    @property
    def prompts(self) -> list[str]:
        return [name for name, _, _ in self.played]

    async def play(self, media: list[str], *, interrupt_digits: str | None = None, name: str = "",
                   last: bool = False) -> str | None:
        if self.script and self.script[0] == HANGUP:
            raise CallerHungUp("chan-1")
        self.played.append((name, media, last))
        if interrupt_digits and self.script and isinstance(self.script[0], tuple):
            _, digit = self.script.pop(0)
            self.event(ev.DTMF, digit=digit)
            return str(digit) if digit in interrupt_digits else None
        return None

    async def collect(self, *, max_digits: int, first_timeout: float, inter_timeout: float,
                      terminator: str | None = "#", first: str | None = None) -> Keys:
        if not self.script:
            raise AssertionError(f"the script ran out at a wait (played {self.prompts})")
        item = self.script.pop(0)
        if item == HANGUP:
            raise CallerHungUp("chan-1")
        if item is None:
            self.event(ev.TIMEOUT, collected="", after=first_timeout)
            return Keys("", "timeout")
        digits = str(item)[:max_digits]
        for d in digits:
            self.event(ev.DTMF, digit=d)
        return Keys(digits, "max_digits")
