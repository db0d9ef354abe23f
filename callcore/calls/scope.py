"""Which calls a user may see (A-1, A-2): the rule behind ``GET /calls`` and ``GET /calls/{id}``.

A call carries a citizen's number and what they said, so only the people who handle it read it:
the floor and the centre see every call; an agent the calls of the queues they serve and the calls
they took; a department's handler only the calls behind its own tickets. The calls capability knows
neither queues nor tickets, so the capabilities that do add the rule for the role they know
(``scopes.add(AGENT, rule)``) in their ``build``; a role nobody gave a rule sees no call at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import ColumnElement, false

from callcore.core.identity import EVERY_CALL, Principal

# The calls a principal may see, as a condition on ``Call`` (never None: "every call" is decided here).
Rule = Callable[[Principal], Awaitable[ColumnElement[bool]]]


class CallScopes:
    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, role: str, rule: Rule) -> None:
        """Gives ``role`` its rule; a second rule for one role is a bug (two capabilities disagreeing)."""
        if role in EVERY_CALL or role in self._rules:
            raise RuntimeError(f"calls seen by role {role!r} are already decided")
        self._rules[role] = rule

    async def condition(self, who: Principal) -> ColumnElement[bool] | None:
        """None when ``who`` sees every call, else the condition a call must meet."""
        if who.role in EVERY_CALL:
            return None
        rule = self._rules.get(who.role)
        return false() if rule is None else await rule(who)
