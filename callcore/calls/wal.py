"""The journal's write-ahead log: every call event on disk the moment it is emitted (issue 12).

The journal's writer gathers events for up to ``LINGER`` seconds and writes them in one
transaction; a daemon killed with ``kill -9`` (or the OOM killer) in between lost them, and with
them the end of calls and their outcomes. Each event is therefore also appended, as one JSON line,
to a segment file with a plain ``write(2)`` as it is emitted: the kernel keeps it when the process
dies (a power cut is another matter: that is what the database's own log and the spool's fsync are
for). Once the writer has a batch stored or spooled, the segments it came from are deleted; a new
process replays whatever segments a dead one left, and the journal's idempotent write makes a
replay of events already stored change nothing.

Segments, not one file: events keep arriving while a batch is written, so the writer starts a new
segment each time it has taken everything queued (``rotate``), and frees the older ones when that
batch is safe (``release``). The cost is one small ``write`` per event, the price of a log line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class WriteAheadLog:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.base.parent.mkdir(parents=True, exist_ok=True)
        # What a previous process left, numbered below the first segment this one writes (an empty
        # one, the segment a clean stop had just started, holds nothing to recover).
        found = self.segments()
        self._n = (self._number(found[-1]) if found else 0) + 1
        for path in found:
            if path.stat().st_size == 0:
                path.unlink()
        self.left = [p for p in found if p.exists()]
        self._fd = self._open(self._n)

    def _path(self, n: int) -> Path:
        return self.base.with_name(f"{self.base.name}.{n:08d}")

    def _number(self, path: Path) -> int:
        return int(path.name.rsplit(".", 1)[1])

    def _open(self, n: int) -> int:
        return os.open(self._path(n), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def segments(self) -> list[Path]:
        """The segments on disk, oldest first."""
        prefix = self.base.name + "."
        found = [p for p in self.base.parent.glob(prefix + "*") if p.name[len(prefix):].isdigit()]
        return sorted(found, key=self._number)

    def append(self, line: str) -> None:
        """One event, as one line; a short write is finished, so a line is never split by us."""
        data = line.encode("utf-8")
        while data:
            data = data[os.write(self._fd, data):]

    def rotate(self) -> int:
        """Starts a new segment; returns the number of the one closed, for ``release`` once every
        event in it (and before it) is stored or spooled."""
        done = self._n
        self._n += 1
        fd = self._open(self._n)
        os.close(self._fd)
        self._fd = fd
        return done

    def release(self, upto: int) -> None:
        """Deletes the segments numbered ``upto`` and below, the left ones included."""
        for path in self.segments():
            if self._number(path) <= upto:
                path.unlink(missing_ok=True)
        self.left = [p for p in self.left if p.exists()]

    def release_left(self) -> None:
        """Deletes what a previous process left (once its events are stored or spooled)."""
        if self.left:
            self.release(self._number(self.left[-1]))

    def close(self) -> None:
        os.close(self._fd)
