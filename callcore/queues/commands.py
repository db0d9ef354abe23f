"""``callcore agents add|list|password``: agents from the shell, for the first setup and for ops
without an admin login. A password is printed once, when it is set; only its digest is kept."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from callcore import config as config_mod
from callcore.config import Settings
from callcore.core.errors import DomainError
from callcore.core.identity import ADMIN, Principal
from callcore.queues.directory import AgentDirectory, AgentRecord, cli_reload, has_agents_table
from callcore.store.db import Database


class NoStore(Exception):
    """The database is not migrated to the agents table."""


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agents = sub.add_parser("agents", help="agents: numbers (工号), names and SIP passwords")
    agentsub = agents.add_subparsers(dest="agents_command", required=True)
    add = agentsub.add_parser("add", help="create an agent and print its SIP password (shown once)")
    add.add_argument("number", help="the agent number (工号), 3 to 8 digits: also the SIP user name")
    add.add_argument("name", help="the name agents' phones show")
    add.add_argument("--user", metavar="USERNAME", help="the user (role agent) who answers as this agent")
    add.set_defaults(func=cmd_add)
    lst = agentsub.add_parser("list", help="list agents")
    lst.set_defaults(func=cmd_list)
    pw = agentsub.add_parser("password", help="give an agent a new SIP password and print it (the old one stops working)")
    pw.add_argument("number")
    pw.set_defaults(func=cmd_password)


def shell_principal() -> Principal:
    """Who the audit log names for a change made from the shell: the operating-system user."""
    return Principal(user_id=f"cli:{getpass.getuser()}"[:64], name=getpass.getuser(), role=ADMIN)


def _run(args: argparse.Namespace, work: str) -> int:
    settings = config_mod.load(args.config)

    async def go() -> None:
        db = Database(settings.database_url)
        try:
            if not await has_agents_table(db):
                raise NoStore(f"the store at {settings.database_url.split('@')[-1]} has no agents yet: "
                              "run `callcore db upgrade` (or `callcore setup`) first")
            directory = AgentDirectory(db, settings, cli_reload(settings))
            if work == "add":
                user_id = await directory.user_id_of(args.user) if args.user else None
                issued = await directory.create(args.number, args.name, user_id=user_id, by=shell_principal())
                print(_line(issued.agent))
                _print_password(issued.agent.number, issued.password, settings)
            elif work == "password":
                issued = await directory.rotate_password(args.number, by=shell_principal())
                _print_password(issued.agent.number, issued.password, settings)
            else:
                for agent in await directory.list_agents():
                    print(_line(agent))
        finally:
            await db.close()

    try:
        asyncio.run(go())
    except NoStore as exc:
        print(f"callcore agents: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"callcore agents: {exc.message}", file=sys.stderr)
        return 1
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    return _run(args, "add")


def cmd_list(args: argparse.Namespace) -> int:
    return _run(args, "list")


def cmd_password(args: argparse.Namespace) -> int:
    return _run(args, "password")


def _line(agent: AgentRecord) -> str:
    state = "active" if agent.active else "inactive"
    user = f"user {agent.username}" if agent.username else "no user"
    return f"{agent.number}\t{agent.name}\t{state}\t{user}"


def _print_password(number: str, password: str, settings: Settings) -> None:
    print(f"SIP password of agent {number}: {password}  (shown once; "
          f"register as user {number} at {settings.asterisk.host}:{settings.asterisk.sip_port})")
