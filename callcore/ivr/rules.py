"""Rules a prompt states, read from the configuration when the prompt is synthesized.

A menu prompt that tells callers a rule names it instead of writing it down, so it cannot drift from
what the centre applies: ``{deadline:complaint}`` is said as the complaint category's time limit
(W-7), "十五个工作日" (0 days: "当天"). The values come from the ticket categories in the store;
the registry re-renders the prompts that use them when an admin changes a category.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import select

from callcore.prompts.numbers import chinese_number
from callcore.store.db import Database

# ``{deadline:complaint}``: a rule kind and the name it applies to.
PLACEHOLDER = re.compile(r"\{([a-z_]+):([a-z_]+)\}")

RuleValues = Mapping[str, str]


class UnknownRule(KeyError):
    """A prompt names a rule the configuration does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def deadline_words(days: int) -> str:
    """A category's time limit as said to a caller: 十五个工作日, 两个工作日, 当天 (0)."""
    return "当天" if days == 0 else f"{chinese_number(days, counting=True)}个工作日"


def rules_from_limits(limits: Mapping[str, int]) -> dict[str, str]:
    """Rule values from category code -> working-day limit."""
    return {f"deadline:{code}": deadline_words(days) for code, days in sorted(limits.items())}


def default_rules() -> dict[str, str]:
    """The shipped categories' limits (W-7), for a check made without a store."""
    from callcore.tickets.settings import DEFAULT_CATEGORIES

    return rules_from_limits({code: days for code, _name, days in DEFAULT_CATEGORIES})


async def stored_rules(db: Database) -> dict[str, str]:
    """The limits of the categories in the store; the defaults for those it does not have yet (a new
    store seeds them on first use)."""
    from callcore.tickets.models import Category

    async with db.session() as s:
        limits = {c.code: c.limit_days for c in await s.scalars(select(Category))}
    return {**default_rules(), **rules_from_limits(limits)}


def uses_rules(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None


def render(text: str, values: RuleValues) -> str:
    """``text`` with every ``{kind:name}`` replaced by its value; ``UnknownRule`` for one not configured."""

    def value(m: re.Match[str]) -> str:
        key = f"{m.group(1)}:{m.group(2)}"
        try:
            return values[key]
        except KeyError:
            raise UnknownRule(key) from None

    return PLACEHOLDER.sub(value, text)
