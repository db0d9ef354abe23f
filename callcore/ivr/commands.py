"""``callcore ivr check FILE``: validate a menu file and print every fault as ``FILE:LINE: message``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from callcore import config as config_mod
from callcore.ivr.validator import check, format_faults, prompt_dirs


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ivr = sub.add_parser("ivr", help="IVR menus")
    ivrsub = ivr.add_subparsers(dest="ivr_command", required=True)
    chk = ivrsub.add_parser("check", help="validate a menu file (exit 1 and print each fault with its line)")
    chk.add_argument("file", type=Path)
    chk.add_argument("--no-prompts", action="store_true",
                     help="skip synthesizing text prompts and checking recordings")
    chk.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    dirs = None
    if not args.no_prompts:
        settings = config_mod.load(args.config)
        dirs = prompt_dirs(settings, extra=(path.resolve().parent / "sounds",))
    result = asyncio.run(check(text, dirs))
    if result.faults:
        print(format_faults(result.faults, str(path)))
        print(f"{path}: {len(result.faults)} fault(s); the menu cannot be used", file=sys.stderr)
        return 1
    assert result.menu is not None
    print(f"{path}: menu {result.menu.name!r} version {result.menu.label!r} is valid "
          f"({len(result.menu.nodes)} nodes, {len(result.prompts)} prompts)")
    return 0
