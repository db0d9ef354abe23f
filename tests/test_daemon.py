"""The daemon's process-wide set-up that is not a capability of its own."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
from pathlib import Path

from callcore.daemon import GC_YOUNG_THRESHOLD, quiet_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_quiet_gc_leaves_start_up_objects_out_of_later_collections(restored_gc: None) -> None:
    kept = [object() for _ in range(10)]
    quiet_gc()
    # Everything alive at start-up is frozen: a full collection no longer walks it.
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    # Objects made later are still collected, cycles included.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1



def test_what_the_product_writes_is_private(tmp_path: Path) -> None:
    """Issue 12: the database, its WAL and daemon.log were mode 644 (personal data readable by all)."""
    import subprocess
    import sys

    env = {**os.environ, "CALLCORE_RUN_DIR": str(tmp_path / "run"), "CALLCORE_DATABASE_URL": ""}
    subprocess.run([sys.executable, "-m", "callcore", "db", "upgrade"], env=env, check=True, capture_output=True,
                   timeout=120)
    db = tmp_path / "run" / "callcore.db"
    assert db.exists() and db.stat().st_mode & 0o777 == 0o600
