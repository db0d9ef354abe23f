"""``callcore recordings backup DEST`` and ``callcore recordings verify DEST``: the recordings'
backup from the shell (cron), with an exit status that says whether every recording made it.
``callcore voicemail pin``: the fallback mailbox's PIN, shown only to the admin who asks for it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from callcore import config as config_mod
from callcore.asterisk.render import VOICEMAIL_PIN_FILE, read_voicemail_pin
from callcore.recordings.backup import MANIFEST, BackupReport, backup, verify
from callcore.store.db import OUTAGE_ERRORS, Database


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rec = sub.add_parser("recordings", help="call recordings: backup and its check")
    recsub = rec.add_subparsers(dest="recordings_command", required=True)
    b = recsub.add_parser("backup", help=f"copy recordings not yet backed up into DEST, with {MANIFEST}")
    b.add_argument("dest", type=Path)
    b.set_defaults(func=cmd_backup)
    v = recsub.add_parser("verify", help=f"check every file of a backup in DEST against {MANIFEST}")
    v.add_argument("dest", type=Path)
    v.set_defaults(func=cmd_verify)
    vm = sub.add_parser("voicemail", help="the dialplan fallback's mailbox")
    vmsub = vm.add_subparsers(dest="voicemail_command", required=True)
    pin = vmsub.add_parser("pin", help="print the fallback mailbox's PIN (random per installation)")
    pin.set_defaults(func=cmd_voicemail_pin)


def cmd_backup(args: argparse.Namespace) -> int:
    settings = config_mod.load(args.config)

    async def go() -> BackupReport:
        db = Database(settings.database_url)
        try:
            return await backup(db, args.dest)
        finally:
            await db.close()

    try:
        report = asyncio.run(go())
    except OUTAGE_ERRORS as exc:
        print(f"callcore recordings: the store is unavailable: {exc}", file=sys.stderr)
        return 2
    print(f"copied {report.copied} recording(s) to {args.dest}")
    for rec_id in report.missing:
        print(f"missing: recording {rec_id} has no file (marked missing)", file=sys.stderr)
    for rec_id in report.failed:
        print(f"failed: recording {rec_id} was not copied (see the log)", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    report = verify(args.dest)
    for rel in report.missing:
        print(f"missing: {rel}", file=sys.stderr)
    for rel in report.mismatched:
        print(f"checksum differs: {rel}", file=sys.stderr)
    print(f"checked {report.checked} file(s) in {args.dest}: "
          f"{'all match' if report.ok else f'{len(report.missing)} missing, {len(report.mismatched)} differ'}")
    return 0 if report.ok else 1


def cmd_voicemail_pin(args: argparse.Namespace) -> int:
    """Prints the PIN the render made; makes none itself, so what it prints is what Asterisk was given."""
    settings = config_mod.load(args.config)
    try:
        pin = read_voicemail_pin(settings.run_dir)
    except config_mod.ConfigError as exc:
        print(f"callcore voicemail: {exc}", file=sys.stderr)
        return 2
    if pin is None:
        print(f"callcore voicemail: no PIN yet ({settings.run_dir / VOICEMAIL_PIN_FILE}): "
              "run `callcore asterisk render` (or `callcore setup`) first", file=sys.stderr)
        return 1
    print(pin)
    return 0
