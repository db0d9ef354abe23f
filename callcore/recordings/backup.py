"""Backups of recordings (T-9): copy what is not backed up yet, with a manifest of checksums; verify a copy.

The manifest (``MANIFEST.sha256`` in the backup folder) is in ``sha256sum`` format, one line per
file, appended by each run, so a backup can also be checked without callcore
(``cd DEST && sha256sum -c MANIFEST.sha256``). Files are laid out by the day the recording started
(``YYYY/MM/DD/<name>.wav``). A recording is marked backed up only after its copy's checksum
matched the one measured when it was recorded.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, true

from callcore.recordings import audio
from callcore.recordings.models import Recording
from callcore.recordings.services import not_backed_up
from callcore.store.base import utcnow
from callcore.store.db import Database

log = logging.getLogger(__name__)

MANIFEST = "MANIFEST.sha256"
BATCH = 200


@dataclass(kw_only=True)
class BackupReport:
    copied: int = 0
    # Recording ids whose file is not there (marked missing in the store) or could not be copied.
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed


@dataclass(kw_only=True)
class VerifyReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.missing and not self.mismatched


def relative_path(row: Recording) -> Path:
    return Path(row.started_at.strftime("%Y/%m/%d")) / Path(row.path).name


def _append_manifest(dest: Path, sha256: str, rel: Path) -> None:
    with open(dest / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write(f"{sha256}  {rel.as_posix()}\n")


async def backup(db: Database, dest: Path) -> BackupReport:
    """Copies every finished recording not yet backed up into ``dest``."""
    report = BackupReport()
    await asyncio.to_thread(dest.mkdir, parents=True, exist_ok=True)
    seen: set[str] = set()
    while True:
        async with db.session() as s:
            rows = list(await s.scalars(select(Recording).where(not_backed_up(), Recording.id.not_in(seen) if seen else true())
                                        .order_by(Recording.started_at, Recording.id).limit(BATCH)))
        if not rows:
            return report
        for row in rows:
            seen.add(row.id)
            rel = relative_path(row)
            try:
                sha = await asyncio.to_thread(audio.copy_verified, Path(row.path), dest / rel, row.sha256)
            except FileNotFoundError:
                report.missing.append(row.id)
                await _mark(db, row.id, missing=True)
                continue
            except (OSError, audio.AudioFileError) as exc:
                log.error("recording %s not backed up: %s", row.id, exc)
                report.failed.append(row.id)
                continue
            await asyncio.to_thread(_append_manifest, dest, sha, rel)
            await _mark(db, row.id, backed_up_at=utcnow(), sha256=sha, missing=False)
            report.copied += 1


async def _mark(db: Database, rec_id: str, **values: object) -> None:
    async with db.session() as s:
        row = await s.get(Recording, rec_id)
        if row is not None:
            for key, value in values.items():
                setattr(row, key, value)


def verify(dest: Path) -> VerifyReport:
    """Blocking: checks every file the manifest names against its checksum."""
    report = VerifyReport()
    manifest = dest / MANIFEST
    if not manifest.is_file():
        report.missing.append(MANIFEST)
        return report
    expected: dict[str, str] = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        sha, sep, rel = line.partition("  ")
        if sep and rel:
            expected[rel] = sha  # a file copied again later: its last line counts
    for rel, sha in expected.items():
        report.checked += 1
        path = dest / rel
        if not path.is_file():
            report.missing.append(rel)
        elif audio.sha256_of(path) != sha:
            report.mismatched.append(rel)
    return report
