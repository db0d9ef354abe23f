"""The one command line: ``callcore run | setup | db upgrade | tail | asterisk render | ivr check``.

The daemon's own sub-commands are in ``callcore.commands``; each capability contributes its own
through the module its plugin names in ``commands`` (an ``add_commands(subparsers)`` function).
A handler is stored as ``func`` and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence



def command_modules() -> list[str]:
    from callcore.plugins import plugin_classes

    return ["callcore.commands", "callcore.prompt_catalog", *(cls.commands for cls in plugin_classes() if cls.commands)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcore", description="96881 hotline telephony core")
    parser.add_argument("-c", "--config", help="TOML configuration file (default: $CALLCORE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in command_modules():
        importlib.import_module(name).add_commands(sub)
    return parser


# Files the product writes (the database, logs, recordings, Asterisk's files through the processes it
# starts) hold citizens' personal data: readable by the service's own user only (A-2).
PRIVATE_UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a CLI prints the fault, not a traceback
        from callcore.config import ConfigError

        if isinstance(exc, ConfigError):
            print(f"callcore: configuration error: {exc}", file=sys.stderr)
            return 2
        raise
