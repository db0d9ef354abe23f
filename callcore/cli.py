"""The one command line: ``callcore run | setup | db upgrade | tail | asterisk render | ivr check``.

Each capability contributes its sub-commands through an ``add_commands(subparsers)`` function
listed in ``COMMAND_MODULES``; the handler is stored as ``func`` and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "callcore.commands",
    "callcore.ivr.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcore", description="96881 hotline telephony core")
    parser.add_argument("-c", "--config", help="TOML configuration file (default: $CALLCORE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
