"""Call flows: what the daemon does with a call once it is in the Stasis app.

The welcome flow is the first one; the IVR engine plugs in at the same place (a ``Flow``).
"""

from __future__ import annotations

from pathlib import Path

from callcore.calls.session import CallSession
from callcore.calls.stasis import Flow


def sound(path: Path) -> str:
    """The ARI media URI of a prompt file given without extension."""
    return f"sound:{path}"


def welcome_flow(prompts: dict[str, Path]) -> Flow:
    """Answer, play the welcome prompt, hang up cleanly."""

    async def run(session: CallSession) -> None:
        await session.answer()
        if session.resumed:
            await session.play([sound(prompts["resumed"])], name="resumed")
        await session.play([sound(prompts["welcome"])], name="welcome", last=True)
        await session.hangup("normal")

    return run
