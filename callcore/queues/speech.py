"""The agent's greeting (T-7), with its number said digit by digit.

Numbers in every announcement come from ``callcore.prompts.numbers`` (the one module that writes
numbers the way a Mandarin caller expects to hear them); they are re-exported here for the queue
modules that announce positions and waits.
"""

from __future__ import annotations

from callcore.prompts.numbers import chinese_number, phone_digits

__all__ = ["agent_intro_text", "chinese_number", "phone_digits"]


def agent_intro_text(agent_number: str) -> str:
    """What the caller hears when an agent answers, before the conversation (T-7)."""
    return f"{phone_digits(agent_number)}号话务员为您服务。"
