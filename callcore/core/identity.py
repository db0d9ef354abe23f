"""Who acts: the principal behind a request or a job, the roles, and the named sets of roles.

Every role check in the code names one of these sets, so a role is spelled in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass

AGENT = "agent"            # 话务员: answers calls, creates tickets
DISPATCHER = "dispatcher"  # 派单员: sends tickets to departments
SUPERVISOR = "supervisor"  # 班长: watches queues and agents, manages the floor
HANDLER = "handler"        # 承办单位: a department's handler, sees only the department's tickets
LEADER = "leader"          # 领导: reads statistics
ADMIN = "admin"
# The daemon's own jobs (urges, callback sampling); never a user's role.
SYSTEM = "system"

ROLES = (AGENT, DISPATCHER, SUPERVISOR, HANDLER, LEADER, ADMIN)

# The call centre's own staff: they talk to citizens and create and act on tickets.
CENTER = frozenset({AGENT, DISPATCHER, SUPERVISOR, ADMIN})
# Who manages tickets beyond an agent's steps: dispatch, approve, close, reopen.
TICKET_MANAGERS = frozenset({DISPATCHER, SUPERVISOR, ADMIN})
# Who runs the floor: blocked numbers, queues, agents' states.
FLOOR_MANAGERS = frozenset({SUPERVISOR, ADMIN})
ADMINS = frozenset({ADMIN})
# Who reads every ticket (a handler reads only the department's).
READ_ALL = frozenset({AGENT, DISPATCHER, SUPERVISOR, LEADER, ADMIN, SYSTEM})
# Who sees every call in the call list and its timeline (an agent sees its queues' calls, a handler the
# calls behind its department's tickets: ``callcore.calls.scope``).
EVERY_CALL = frozenset({DISPATCHER, SUPERVISOR, LEADER, ADMIN, SYSTEM})
# Who watches the live stream of every call's events (ops): the floor.
STREAM_WATCHERS = FLOOR_MANAGERS
# Who reads the statistics.
STATS_READERS = frozenset({LEADER, SUPERVISOR, DISPATCHER, ADMIN})
# Whole personal values, each view audited: handlers call citizens back, so they may see the phone.
PHONE_ROLES = frozenset({AGENT, DISPATCHER, SUPERVISOR, HANDLER, ADMIN})
ID_CARD_ROLES = CENTER


@dataclass(frozen=True, kw_only=True)
class Principal:
    user_id: str
    name: str
    role: str
    department_id: str | None = None


SYSTEM_PRINCIPAL = Principal(user_id=SYSTEM, name="系统", role=SYSTEM)
