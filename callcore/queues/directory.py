"""Agents as accounts (issue 9, T-6): a 工号, a name, an optional user of role agent, and a SIP
password of their own.

Each agent's phone logs in to its own PJSIP endpoint with its own password, so one leaked or
departed agent's password is changed without touching the others. The password is generated here,
shown to the admin once and never stored: the store keeps only PJSIP's ``md5_cred`` digest. After
every change the active agents are written to ``pjsip_agents.conf`` (the one writer,
``callcore.asterisk.render.write_agents_conf``) and Asterisk is told to reload ``res_pjsip``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts import audit
from callcore.accounts.models import User
from callcore.ami.client import AmiClient
from callcore.ami.errors import AmiError
from callcore.asterisk import process
from callcore.asterisk.render import CALLERID_UNSAFE, SipAgent, etc_dir, sip_md5, write_agents_conf
from callcore.config import Settings
from callcore.core.errors import Conflict, InvalidInput, NotFound
from callcore.core.identity import AGENT, Principal
from callcore.queues.models import Agent
from callcore.store.db import OUTAGE_ERRORS, Database

log = logging.getLogger(__name__)

# ASCII digits only, matched whole (fullmatch: "$" would let a trailing newline through).
NUMBER = re.compile(r"[0-9]{3,8}")
NAME_MAX = 64
# 18 random bytes: 24 URL-safe characters (letters, digits, - and _), which every softphone accepts.
PASSWORD_BYTES = 18
# The module whose reload re-reads the PJSIP configuration (pjsip.conf and what it includes).
PJSIP_MODULE = "res_pjsip.so"

# Tells the running Asterisk to re-read pjsip_agents.conf; raises when it could not.
Reload = Callable[[], Awaitable[None]]


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Literal[_Keep.KEEP] = _Keep.KEEP


@dataclass(frozen=True, kw_only=True)
class AgentRecord:
    """An agent as admins see it; the SIP digest never leaves the store."""

    id: str
    number: str
    name: str
    user_id: str | None
    username: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class IssuedPassword:
    """A new SIP password and the agent it belongs to: the only time the password is readable."""

    agent: AgentRecord
    password: str


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "in": "body", "message": message}])


def check_number(number: str) -> str:
    if not NUMBER.fullmatch(number):
        raise _bad("number", "an agent number (工号) is 3 to 8 digits")
    return number


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise _bad("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise _bad("name", f"at most {NAME_MAX} characters")
    if CALLERID_UNSAFE.search(name):
        raise _bad("name", 'must not contain " \\ ; < > or control characters (the phone shows it as caller id)')
    return name


# -- telling Asterisk -------------------------------------------------------------------------------

def ami_reload(ami: AmiClient, *, attempts: int = 5, pause: float = 0.3) -> Reload:
    """The daemon's reload: AMI ``Reload`` of ``res_pjsip.so`` (manager.c ``action_reload``, the same
    on Asterisk 16 and 22; needs ``system`` or ``config`` write permission in manager.conf).

    Asterisk runs one module reload at a time and answers "A reload is in progress" to another
    (loader.c ``ast_module_reload``): that one is retried. Before Asterisk is fully booted the
    reload is queued and acknowledged, and the boot reads the new file anyway.
    """

    async def reload() -> None:
        for left in range(attempts - 1, -1, -1):
            try:
                await ami.action({"Action": "Reload", "Module": PJSIP_MODULE}, timeout=15)
                return
            except AmiError as exc:
                if "in progress" not in exc.response.get("Message", "") or not left:
                    raise
                log.info("a module reload is in progress in Asterisk; %d retries remaining", left)
                await asyncio.sleep(pause)

    return reload


def cli_reload(settings: Settings, *, attempts: int = 5, pause: float = 0.3) -> Reload:
    """A reload for processes without the daemon's AMI session (the command line, the test harness):
    ``module reload res_pjsip.so`` through the control socket of the run folder's Asterisk, when it runs.

    The CLI prints one line per outcome (cli.c ``handle_reload``); a request queued before the
    boot completes counts as done.
    """

    async def reload() -> None:
        if process.running_pid(settings.run_dir) is None:
            return  # not running: it reads the file when it starts
        conf = etc_dir(settings) / "asterisk.conf"
        for left in range(attempts - 1, -1, -1):
            out = await process.cli(conf, f"module reload {PJSIP_MODULE}")
            if "reloaded successfully" in out or "request queued" in out:
                return
            if "in progress" not in out or not left:
                raise process.AsteriskError(f"module reload {PJSIP_MODULE}: {out.strip()}")
            await asyncio.sleep(pause)

    return reload


# -- reading the store ------------------------------------------------------------------------------

async def _sip_agents(db: Database) -> list[SipAgent]:
    async with db.session() as s:
        rows = await s.execute(
            select(Agent.number, Agent.name, Agent.sip_md5).where(Agent.active.is_(True), Agent.sip_md5 != "")
        )
        return [SipAgent(number=n, name=name, md5=md5) for n, name, md5 in rows]


async def has_agents_table(db: Database) -> bool:
    """Whether the store was migrated to hold agents (``callcore db upgrade``)."""
    async with db.engine.connect() as conn:
        return bool(await conn.run_sync(lambda c: inspect(c).has_table(Agent.__tablename__)))


async def stored_sip_agents(database_url: str) -> list[SipAgent] | None:
    """The active agents to render, or None when there is no store to read: an SQLite file not
    created yet, a store not migrated to the agents table, or a database that does not answer
    (then the agents file the last change wrote is kept: Asterisk must start without the database).
    """
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if not path or path == ":memory:" or not Path(path).exists():
            return None
    db = Database(database_url)
    try:
        if not await has_agents_table(db):
            return None
        return await _sip_agents(db)
    except OUTAGE_ERRORS as exc:
        log.warning("agents not read from the store (%s): keeping the agents Asterisk already has", exc)
        return None
    finally:
        await db.close()


# -- the service ------------------------------------------------------------------------------------

class AgentDirectory:
    """Creates and changes agents; after each change Asterisk gets the new set of endpoints.

    ``asterisk`` is the daemon's ``AmiClient`` (reloads over AMI), any ``Reload`` callable (the CLI,
    the harness, tests), or None (write the file only: Asterisk reads it when it starts). A reload
    that fails is logged, not raised: the change is stored and written, and Asterisk reads it at
    its next reload or start.
    """

    def __init__(self, db: Database, settings: Settings, asterisk: AmiClient | Reload | None = None) -> None:
        self.db = db
        self.etc = etc_dir(settings)
        if isinstance(asterisk, AmiClient):
            asterisk = ami_reload(asterisk)
        self._reload = asterisk
        # One publisher at a time: each writes the whole set it read, so the last write is the newest.
        self._publishing = asyncio.Lock()

    # -- reading -----------------------------------------------------------------------------------

    async def list_agents(self, *, active: bool | None = None) -> list[AgentRecord]:
        q = select(Agent, User.username).outerjoin(User, User.id == Agent.user_id).order_by(Agent.number)
        if active is not None:
            q = q.where(Agent.active.is_(active))
        async with self.db.session() as s:
            return [_record(a, username) for a, username in await s.execute(q)]

    async def get(self, number: str) -> AgentRecord:
        async with self.db.session() as s:
            agent = await self._agent(s, number)
            return await _with_username(s, agent)

    async def for_user(self, user_id: str) -> AgentRecord:
        """The agent whose phone a logged-in user of role agent answers."""
        async with self.db.session() as s:
            agent = None if "\x00" in user_id else await s.scalar(select(Agent).where(Agent.user_id == user_id))
            if agent is None:
                raise NotFound(f"user {user_id} has no agent number")
            return await _with_username(s, agent)

    async def user_id_of(self, username: str) -> str:
        """The id of the user called ``username`` (the command line names users, the API ids them)."""
        async with self.db.session() as s:
            user_id = None if "\x00" in username else await s.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise _bad("user", f"no user {username!r}")
        return str(user_id)

    async def sip_agents(self) -> list[SipAgent]:
        return await _sip_agents(self.db)

    # -- changing ----------------------------------------------------------------------------------

    async def create(self, number: str, name: str, *, user_id: str | None = None,
                     by: Principal | None = None) -> IssuedPassword:
        """A new agent with a fresh SIP password, returned once. Every input is checked before
        anything is written: a refused request changes nothing."""
        number, name = check_number(number), check_name(name)
        password = new_password()
        try:
            async with self.db.session() as s:
                if await s.scalar(select(Agent.id).where(Agent.number == number)) is not None:
                    raise Conflict(f"agent number {number} is taken")
                username = await self._check_user(s, user_id, number) if user_id is not None else None
                agent = Agent(id=str(uuid.uuid4()), number=number, name=name, user_id=user_id,
                              sip_md5=sip_md5(number, password), active=True)
                s.add(agent)
                await s.flush()
                if by is not None:
                    audit.record(s, by, action="sip_password_issued", object_type="agent", object_id=number)
                record = _record(agent, username)
        except IntegrityError:  # a concurrent create took the number or the user
            raise Conflict(f"agent number {number} or its user is taken") from None
        await self.publish()
        return IssuedPassword(agent=record, password=password)

    async def rotate_password(self, number: str, *, by: Principal | None = None) -> IssuedPassword:
        """A new SIP password for the agent, returned once; the old one stops working at the reload.
        The rotation is audited (who, when, which agent) in the same transaction."""
        password = new_password()
        async with self.db.session() as s:
            agent = await self._agent(s, number)
            agent.sip_md5 = sip_md5(agent.number, password)
            if by is not None:
                audit.record(s, by, action="sip_password_rotated", object_type="agent", object_id=agent.number)
            record = await _with_username(s, agent)
        await self.publish()
        return IssuedPassword(agent=record, password=password)

    async def update(self, number: str, *, name: str | None = None, user_id: str | None | _Keep = KEEP,
                     active: bool | None = None) -> AgentRecord:
        """Changes what is given: ``name``, ``user_id`` (None unlinks the user), ``active``. All are
        checked before any is applied, so a refused change leaves the agent as it was."""
        if name is not None:
            name = check_name(name)
        try:
            async with self.db.session() as s:
                agent = await self._agent(s, number)
                if not isinstance(user_id, _Keep) and user_id is not None and user_id != agent.user_id:
                    await self._check_user(s, user_id, agent.number)
                before = (agent.name, agent.active)
                if name is not None:
                    agent.name = name
                if active is not None:
                    agent.active = active
                if not isinstance(user_id, _Keep):
                    agent.user_id = user_id
                await s.flush()
                sip_changed = (agent.name, agent.active) != before
                record = await _with_username(s, agent)
        except IntegrityError:
            raise Conflict(f"user {user_id} is already another agent") from None
        if sip_changed:
            await self.publish()
        return record

    async def rename(self, number: str, name: str) -> AgentRecord:
        return await self.update(number, name=name)

    async def link_user(self, number: str, user_id: str | None) -> AgentRecord:
        return await self.update(number, user_id=user_id)

    async def deactivate(self, number: str) -> AgentRecord:
        """The agent's endpoint leaves Asterisk: the phone can no longer register or be rung."""
        return await self.update(number, active=False)

    async def reactivate(self, number: str) -> AgentRecord:
        return await self.update(number, active=True)

    async def publish(self) -> bool:
        """Writes the active agents to ``pjsip_agents.conf`` and reloads Asterisk's PJSIP; False
        (and a warning) when Asterisk could not be told. Also what the daemon may call at start."""
        async with self._publishing:
            agents = await _sip_agents(self.db)
            await asyncio.to_thread(write_agents_conf, self.etc, agents)
            if self._reload is None:
                return False
            try:
                await self._reload()
            except (AmiError, process.AsteriskError, OSError) as exc:
                log.warning("Asterisk not reloaded after an agent change (%s): it reads %s at its next reload or start",
                            exc, self.etc / "pjsip_agents.conf")
                return False
            return True

    # -- internals ---------------------------------------------------------------------------------

    @staticmethod
    async def _agent(s: AsyncSession, number: str) -> Agent:
        agent = await s.scalar(select(Agent).where(Agent.number == number)) if NUMBER.fullmatch(number) else None
        if agent is None:
            raise NotFound(f"no agent {number}")
        return agent

    @staticmethod
    async def _check_user(s: AsyncSession, user_id: str, number: str) -> str:
        """The user may answer as this agent: it exists, has the role agent and is no other agent."""
        user = None if "\x00" in user_id else await s.get(User, user_id)
        if user is None:
            raise _bad("user_id", f"no user {user_id}")
        if user.role != AGENT:
            raise _bad("user_id", f"user {user.username!r} has the role {user.role!r}, not {AGENT!r}")
        other = await s.scalar(select(Agent.number).where(Agent.user_id == user_id, Agent.number != number))
        if other is not None:
            raise Conflict(f"user {user.username!r} is already agent {other}")
        return user.username


def _record(agent: Agent, username: str | None) -> AgentRecord:
    return AgentRecord(id=agent.id, number=agent.number, name=agent.name, user_id=agent.user_id, username=username,
                       active=agent.active, created_at=agent.created_at)


async def _with_username(s: AsyncSession, agent: Agent) -> AgentRecord:
    username = await s.scalar(select(User.username).where(User.id == agent.user_id)) if agent.user_id else None
    return _record(agent, username)
