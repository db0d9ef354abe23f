"""``callcore recordings backup|verify``: every finished recording copied once with its checksum in a
manifest; a missing file reported (and marked), never skipped silently; a damaged copy found."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select

from callcore.recordings.backup import MANIFEST, backup, verify
from callcore.recordings.models import FAILED, RECORDING, Recording
from callcore.store.db import Database
from tests.recordings.helpers import add_call, add_recording


async def test_backup_copies_what_is_not_backed_up_once_and_verify_checks_it(db: Database, tmp_path: Path) -> None:
    src, dest = tmp_path / "rec", tmp_path / "backup"
    call = await add_call(db)
    a = await add_recording(db, src, call, seconds=1.0)
    b = await add_recording(db, src, call, seconds=2.0)
    gone = await add_recording(db, src, call, seconds=1.0)
    Path(gone.path).unlink()
    live = await add_recording(db, src, call)
    failed = await add_recording(db, src, call, with_file=False)
    async with db.session() as s:
        (await s.get(Recording, live.id)).status = RECORDING  # type: ignore[union-attr]
        (await s.get(Recording, failed.id)).status = FAILED  # type: ignore[union-attr]

    report = await backup(db, dest)
    assert (report.copied, report.missing, report.failed, report.ok) == (2, [gone.id], [], False)
    lines = (dest / MANIFEST).read_text(encoding="utf-8").splitlines()
    assert sorted(line.split("  ")[0] for line in lines) == sorted([a.sha256, b.sha256])  # type: ignore[type-var]
    for line in lines:
        assert (dest / line.split("  ")[1]).read_bytes()[:4] == b"RIFF"
    async with db.session() as s:
        by_id = {r.id: r for r in await s.scalars(select(Recording))}
    assert by_id[a.id].backed_up_at and by_id[b.id].backed_up_at and by_id[gone.id].missing
    assert by_id[live.id].backed_up_at is None and by_id[failed.id].backed_up_at is None
    # The next run has nothing new to copy; the manifest is what sha256sum reads.
    again = await backup(db, dest)
    assert again.copied == 0
    assert subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST], cwd=dest, check=False).returncode == 0

    assert verify(dest).ok and verify(dest).checked == 2
    damaged = dest / lines[0].split("  ")[1]
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    (dest / lines[1].split("  ")[1]).unlink()
    result = verify(dest)
    assert (result.ok, result.mismatched, result.missing) == (False, [lines[0].split("  ")[1]], [lines[1].split("  ")[1]])


def test_verify_of_a_folder_without_a_manifest_fails(tmp_path: Path) -> None:
    assert not verify(tmp_path).ok
