"""The welcome flow: the simplest call flow, and the IVR's fallback when no menu is in service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callcore.calls.session import CallSession


def sound(path: Path) -> str:
    """The ARI media URI of a prompt file given without extension."""
    return f"sound:{path}"


@dataclass(frozen=True)
class WelcomeFlow:
    """Answer, play the welcome prompt, hang up cleanly. ``prompts`` are the system prompts by name."""

    prompts: dict[str, Path]

    async def __call__(self, session: CallSession) -> None:
        await session.answer()
        await self.apologize(session)
        await session.play([sound(self.prompts["welcome"])], name="welcome", last=True)
        await session.hangup("normal")

    async def apologize(self, session: CallSession) -> None:
        """Says sorry to a caller a restarted daemon took back: they heard silence while it was away,
        and what they hear next starts over (the IVR flow uses it too)."""
        if session.resumed:
            await session.play([sound(self.prompts["resumed"])], name="resumed")
