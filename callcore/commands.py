"""The daemon's own sub-commands: run, setup, db upgrade, tail, asterisk render|start|stop|version."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from callcore import config as config_mod
from callcore.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    return config_mod.load(args.config)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the daemon and its HTTP API")
    run.set_defaults(func=cmd_run)

    setup = sub.add_parser("setup", help="create the run folder, secrets, database, demo agents and Asterisk configuration")
    setup.set_defaults(func=cmd_setup)

    db = sub.add_parser("db", help="database")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    tail = sub.add_parser("tail", help="print one line per call event as it happens")
    tail.add_argument("--caller", help="only this caller number")
    tail.add_argument("--call", dest="call_id", help="only this call id")
    tail.add_argument("--type", help="only these event types (comma-separated)")
    tail.add_argument("--json", action="store_true", help="print raw JSON lines")
    tail.add_argument("--url", help="API base URL (default from configuration)")
    tail.set_defaults(func=cmd_tail)

    ast = sub.add_parser("asterisk", help="the Asterisk instance of this run folder")
    astsub = ast.add_subparsers(dest="asterisk_command", required=True)
    render = astsub.add_parser("render", help="write the Asterisk configuration into the run folder")
    render.set_defaults(func=cmd_asterisk_render)
    start = astsub.add_parser("start", help="render, then start Asterisk in the background")
    start.set_defaults(func=cmd_asterisk_start)
    stop = astsub.add_parser("stop", help="stop the Asterisk of this run folder")
    stop.set_defaults(func=cmd_asterisk_stop)
    version = astsub.add_parser("version", help="which Asterisk this run folder is set up for, and which one runs")
    version.set_defaults(func=cmd_asterisk_version)


def cmd_run(args: argparse.Namespace) -> int:
    from callcore import logs
    from callcore.daemon import serve

    settings = _settings(args)
    logs.setup(settings.log.level, json_lines=settings.log.json)
    asyncio.run(serve(settings))
    return 0


# Agents ``callcore setup`` creates in an empty store, so a person can register a softphone at once.
DEMO_AGENTS = (("1001", "话务员一"), ("1002", "话务员二"))


async def _render(settings: Settings) -> Path:
    """The configuration with the store's agents (when there is a store to read)."""
    from callcore.asterisk.render import render
    from callcore.queues.directory import stored_sip_agents

    return await render(settings, agents=await stored_sip_agents(settings.database_url))


async def _demo_agents(settings: Settings) -> list[tuple[str, str]]:
    """Creates DEMO_AGENTS when the store has no agent at all; their (number, password), shown once."""
    from callcore.queues.commands import shell_principal
    from callcore.queues.directory import AgentDirectory, cli_reload, has_agents_table
    from callcore.store.db import Database

    db = Database(settings.database_url)
    try:
        if not await has_agents_table(db):
            return []
        directory = AgentDirectory(db, settings, cli_reload(settings))
        if await directory.list_agents():
            return []
        return [(n, (await directory.create(n, name, by=shell_principal())).password) for n, name in DEMO_AGENTS]
    finally:
        await db.close()


def cmd_setup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    config_mod.write_secrets_file(settings.run_dir / "secrets.env")
    settings = _settings(args)
    from callcore.store.migrate import upgrade

    asyncio.run(upgrade(settings.database_url))
    demo = asyncio.run(_demo_agents(settings))
    conf = asyncio.run(_render(settings))
    print(f"run folder: {settings.run_dir}\nasterisk configuration: {conf}")
    for number, password in demo:
        print(f"demo agent {number}: SIP password {password}  (shown once; a new one: callcore agents password {number})")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from callcore.store.migrate import upgrade

    settings = _settings(args)
    asyncio.run(upgrade(settings.database_url, args.revision))
    print(f"database at {args.revision}")
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from callcore.tail import tail

    settings = _settings(args)
    url = args.url or f"http://{settings.api.host}:{settings.api.port}"
    return asyncio.run(tail(url, settings.api.token, caller=args.caller, call_id=args.call_id, types=args.type, raw=args.json))


def cmd_asterisk_render(args: argparse.Namespace) -> int:
    conf = asyncio.run(_render(_settings(args)))
    print(conf)
    return 0


def cmd_asterisk_start(args: argparse.Namespace) -> int:
    from callcore.asterisk import process

    settings = _settings(args)
    pid = process.running_pid(settings.run_dir)
    if pid is not None:
        print(f"asterisk already running (pid {pid})")
        return 0

    async def go() -> int:
        conf = await _render(settings)
        return await process.start(conf, settings.run_dir)

    pid = asyncio.run(go())
    print(f"asterisk running: SIP udp {settings.asterisk.host}:{settings.asterisk.sip_port}")
    if settings.asterisk.realtime and not process.realtime(pid):
        print("warning: asterisk runs at normal priority (asterisk.realtime needs it started as root); "
              "recordings may lose audio when the machine is busy", file=sys.stderr)
    return 0


def cmd_asterisk_stop(args: argparse.Namespace) -> int:
    from callcore.asterisk import process
    from callcore.asterisk.render import asterisk_conf

    settings = _settings(args)
    asyncio.run(process.stop(asterisk_conf(settings), settings.run_dir))
    print("asterisk stopped", file=sys.stderr)
    return 0


def cmd_asterisk_version(args: argparse.Namespace) -> int:
    from callcore.asterisk import process
    from callcore.asterisk.render import asterisk_conf

    settings = _settings(args)
    for line in asyncio.run(process.describe(asterisk_conf(settings), settings.run_dir)):
        print(line)
    return 0
