"""The queues in service, read from one YAML file admins edit by hand or through the API (T-5).

``queues/queues.yaml`` holds a top-level ``queues:`` list (format: ``queues/README.md``). A file is
checked whole before anything changes: an invalid one is refused with every fault naming its line
and field, and the queues in service stay (as T-2 asks of menus). ``watch()`` polls the file's
mtime and takes in hand edits; ``replace`` and ``remove`` validate the change, write the whole file
atomically (temporary file, fsync, rename) with the other queues as they were, then put it in
service. Each queue has a version (a hash of its settings): an edit that names the version it
started from is refused when someone changed that queue meanwhile (If-Match).

A call takes ``get(name)`` once and keeps that ``QueueSettings``; a change reaches later calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from callcore.core.jobs import PeriodicJob
from callcore.ivr.loader import Y, compose
from callcore.queues.errors import Fault, QueueError, QueueSettingsError
from callcore.queues.settings import QueueSettings, queue_from_dict, queues_from_dict

log = logging.getLogger(__name__)

HEADER = "# The hotline's queues. Format: queues/README.md. Edits through the API rewrite the list below.\n"
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PLAIN_KEY = re.compile(r"[a-z_][a-z0-9_]*")
# Text that may be written without quotes if YAML reads it back as the same text (not 1001, yes, null).
_PLAIN_TEXT = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\s:,\[\]{}#]*")


@dataclass(frozen=True)
class LocatedFault(Fault):
    """A fault of a file: its 1-based line as well (0 when it has none, e.g. a change sent as JSON)."""

    line: int = 0

    def __str__(self) -> str:
        return f"line {self.line}: {super().__str__()}" if self.line else super().__str__()

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, **({"line": self.line} if self.line else {})}


class QueueFileRejected(QueueSettingsError):
    """The queue file was refused; the queues in service are unchanged."""

    error_id = "invalid_queue_file"


class UnknownQueue(QueueError, LookupError):
    status = 404
    error_id = "unknown_queue"


class QueueVersionConflict(QueueError):
    """The queue changed since the version the edit started from (or the file on disk changed by
    hand and is invalid, so nothing can be written over it without losing that edit)."""

    status = 409
    error_id = "queue_version_conflict"


@dataclass(frozen=True, kw_only=True)
class _Parsed:
    queues: dict[str, QueueSettings]  # in file order
    raw: dict[str, dict[str, Any]]  # each queue as written, kept when another one is rewritten
    header: str
    sha: str


@dataclass(frozen=True)
class _Seen:
    """What the file looked like when last read: a change to any of these means read it again."""

    mtime_ns: int
    size: int
    inode: int


def version_of(q: QueueSettings) -> str:
    """The queue's version: a hash of its settings, so an edit elsewhere in the file does not change it."""
    text = json.dumps(settings_dict(q), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings_dict(q: QueueSettings) -> dict[str, Any]:
    """Every setting as plain data in the file's shape (members as agent and penalty, in order)."""
    out: dict[str, Any] = {}
    for f in fields(QueueSettings):
        value = getattr(q, f.name)
        if f.name == "members":
            value = [{"agent": m.agent_id, "penalty": m.penalty} for m in sorted(value, key=lambda m: m.order)]
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        out[f.name] = value
    return out


# -- reading ----------------------------------------------------------------------------------------


def _plain(y: Y) -> Any:
    if isinstance(y.value, dict):
        return {k: _plain(v) for k, v in y.value.items()}
    if isinstance(y.value, list):
        return [_plain(v) for v in y.value]
    return y.value


def _line_of(root: Y, path: str) -> int:
    """The line of ``queues[1].members[0].penalty`` in the located tree; the nearest line above it
    when the path ends at something missing (a required key names the queue's line)."""
    y, line = root, root.line
    for name, index in _PATH_STEP.findall(path):
        if name and isinstance(y.value, dict) and name in y.value:
            line, y = y.keys[name], y.value[name]
        elif index and isinstance(y.value, list) and int(index) < len(y.value):
            y = y.value[int(index)]
            line = y.line
        else:
            break
    return line


def _duplicates(y: Y, path: str, out: list[LocatedFault]) -> None:
    for key, line, first in y.dups:
        out.append(LocatedFault(f"{path}{key}", f"given twice (first on line {first}); a YAML file keeps only one",
                                line))
    if isinstance(y.value, dict):
        for key, sub in y.value.items():
            _duplicates(sub, f"{path}{key}.", out)
    elif isinstance(y.value, list):
        for i, sub in enumerate(y.value):
            _duplicates(sub, f"{path.rstrip('.')}[{i}].", out)


def _header(text: str) -> str:
    """The comment lines the file starts with: kept when the API rewrites the file."""
    kept = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "".join(kept) or HEADER


def parse(text: str) -> _Parsed:
    """A queue file's queues, or ``QueueFileRejected`` with every fault found, each with its line."""
    root, syntax = compose(text)
    faults = [LocatedFault("file", "one YAML document per file" if "second YAML document" in f.message else f.message,
                           f.line) for f in syntax]
    if root is None:
        raise QueueFileRejected(list(faults))
    _duplicates(root, "", faults)
    plain = _plain(root)
    try:
        queues = queues_from_dict(plain)
    except QueueSettingsError as exc:
        faults += [LocatedFault(f.field, f.message, _line_of(root, f.field)) for f in exc.faults]
        queues = ()
    if faults:
        faults.sort(key=lambda f: f.line)
        raise QueueFileRejected(list(faults))
    return _Parsed(queues={q.name: q for q in queues}, raw={q.name: raw for q, raw in zip(queues, plain["queues"])},
                   header=_header(text), sha=hashlib.sha256(text.encode()).hexdigest()[:16])


# -- writing --------------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written")
        text = repr(value)
        # PyYAML reads 1e-05 as text: write every float with a point and no exponent.
        return text if "." in text and "e" not in text else f"{value:.17f}".rstrip("0")
    if isinstance(value, str):
        if _PLAIN_TEXT.fullmatch(value) and _reads_as(value) == value:
            return value
        # A JSON string is a YAML double-quoted scalar, but for the characters YAML takes as line breaks.
        text = json.dumps(value, ensure_ascii=False)
        return text.replace("\u0085", "\\N").replace("\u2028", "\\L").replace("\u2029", "\\P")
    raise TypeError(f"cannot write {type(value).__name__} into the queue file")


def _reads_as(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:  # e.g. a control character: then it is quoted
        return None


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else _scalar(key)


def _flow(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def render(header: str, queues: list[dict[str, Any]]) -> str:
    """The file for these queues: one block per queue, members one per line."""
    if not queues:
        return header.rstrip("\n") + "\n\nqueues: []\n"
    lines = [header, "", "queues:"]
    for raw in queues:
        for i, (key, value) in enumerate(raw.items()):
            lead = "  - " if i == 0 else "    "
            if isinstance(value, list) and value:
                lines.append(f"{lead}{_key(key)}:")
                lines += [f"      - {_flow(item)}" for item in value]
            else:
                lines.append(f"{lead}{_key(key)}: {_flow(value)}")
        lines.append("")
    return "\n".join(line.rstrip("\n") for line in lines).rstrip("\n") + "\n"


# -- the catalog ----------------------------------------------------------------------------------


@dataclass(eq=False)
class QueueCatalog:
    """The one owner of the queue file: every read and write of it goes through here, under one
    lock, so a poll, an API edit and another API edit never interleave."""

    path: Path
    _parsed: _Parsed = field(default_factory=lambda: _Parsed(queues={}, raw={}, header=HEADER, sha=""), init=False)
    _seen: _Seen | None = field(default=None, init=False)
    # The faults of the file on disk when it was refused (what is in service is then older than it).
    faults: list[LocatedFault] = field(default_factory=list, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    # -- reading ------------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """A hash of the file in service ("" before one was loaded)."""
        return self._parsed.sha

    def get(self, name: str) -> QueueSettings:
        try:
            return self._parsed.queues[name]
        except KeyError:
            raise UnknownQueue(f"no queue {name!r}") from None

    def all(self) -> tuple[QueueSettings, ...]:
        """In file order."""
        return tuple(self._parsed.queues.values())

    def names(self) -> list[str]:
        return list(self._parsed.queues)

    def version_of(self, name: str) -> str:
        return version_of(self.get(name))

    # -- the file -----------------------------------------------------------------------------------

    def _stat(self) -> _Seen | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return _Seen(st.st_mtime_ns, st.st_size, st.st_ino)

    async def reload(self) -> bool:
        """Read the file and put it in service; True when that changed the queues in service.

        Raises ``QueueFileRejected`` (the queues in service stay), or ``FileNotFoundError``.
        """
        async with self._lock:
            return await self._reload()

    async def _reload(self) -> bool:
        # Noted before reading: a file that cannot be read is reported once, not at every poll.
        self._seen = self._stat()
        return self._take(await asyncio.to_thread(self.path.read_bytes))

    def _take(self, data: bytes) -> bool:
        try:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise QueueFileRejected([LocatedFault("file", f"not UTF-8 text (byte {exc.start})")]) from None
            parsed = parse(text)
        except QueueFileRejected as exc:
            self.faults = [f for f in exc.faults if isinstance(f, LocatedFault)]
            raise
        self.faults = []
        changed = parsed.sha != self._parsed.sha
        self._parsed = parsed
        if changed:
            log.info("queues from %s in service: %s", self.path, ", ".join(parsed.queues) or "none")
        return changed

    def load(self) -> None:
        """Start-up, before any call or request: like ``reload`` (a blocking read of one small file)
        but never raises; a missing, unreadable or invalid file is logged and leaves no queues."""
        try:
            self._seen = self._stat()
            self._take(self.path.read_bytes())
        except FileNotFoundError:
            log.error("queue file %s not found: no queues in service", self.path)
        except OSError as exc:
            log.error("queue file %s unreadable: %s", self.path, exc)
        except QueueFileRejected as exc:
            self._log_refused(exc)

    def _log_refused(self, exc: QueueFileRejected) -> None:
        log.error("queue file %s refused, the queues in service stay (%s):\n%s", self.path,
                  ", ".join(self.names()) or "none", "\n".join(f"  {self.path}: {f}" for f in exc.faults))

    async def run_once(self) -> int:
        """One poll (a ``core.jobs.Job``): read the file again if its mtime, size or inode moved."""
        async with self._lock:
            seen = self._stat()
            if seen is None or seen == self._seen:
                return 0
            try:
                return int(await self._reload())
            except QueueFileRejected as exc:
                self._log_refused(exc)
            except OSError as exc:  # not the database outage PeriodicJob would call it
                log.error("queue file %s unreadable, the queues in service stay: %s", self.path, exc)
            return 0

    async def watch(self, interval: float = 2.0) -> None:
        """Take in hand edits until cancelled; errors are logged and the next tick tries again."""
        await PeriodicJob(name=f"queue file {self.path.name}", job=self, interval=interval).run()

    # -- changing -----------------------------------------------------------------------------------

    async def replace(self, name: str, raw: Any, *, author: str, expected_version: str | None = None) -> QueueSettings:
        """Put the queue ``name`` (new or changed) in service with the settings ``raw``.

        ``expected_version``: the version the edit started from ("*": the queue must exist). Raises
        ``QueueSettingsError`` (every fault, by field), ``QueueVersionConflict``, ``OSError``; the
        file and the queues in service are unchanged then.
        """
        if not isinstance(raw, Mapping):
            raise QueueSettingsError([Fault("queue", "must be a table of settings")])
        if "name" in raw and raw["name"] != name:
            raise QueueSettingsError([Fault("name", f"must be the queue's name {name!r} (rename: add, then remove)")])
        q = queue_from_dict({"name": name, **raw})
        async with self._lock:
            before = await self._fresh(name, expected_version)
            queues = dict(self._parsed.raw)
            queues[name] = settings_dict(q)
            await self._write(list(queues.values()))
        log.info("queue %s %s by %s (version %s)", name, "changed" if before else "added", author, version_of(q))
        return self.get(name)

    async def remove(self, name: str, *, author: str, expected_version: str | None = None) -> QueueSettings:
        """Take the queue ``name`` out of the file and of service; returns what it was. Raises
        ``UnknownQueue`` if there is none, and what ``replace`` raises."""
        async with self._lock:
            before = await self._fresh(name, expected_version)
            if before is None:
                raise UnknownQueue(f"no queue {name!r}")
            await self._write([raw for n, raw in self._parsed.raw.items() if n != name])
        log.info("queue %s removed by %s (was version %s)", name, author, version_of(before))
        return before

    async def _fresh(self, name: str, expected: str | None) -> QueueSettings | None:
        """The queue as in the file on disk now (a hand edit not yet polled is taken in first, not
        written over), checked against the version the edit started from."""
        seen = self._stat()
        if seen is not None and seen != self._seen:
            try:
                await self._reload()
            except QueueFileRejected as exc:
                self._log_refused(exc)
        if self.faults:
            raise QueueVersionConflict(f"{self.path.name} was changed by hand and is invalid: fix it first",
                                       details=[f.to_json() for f in self.faults])
        current = self._parsed.queues.get(name)
        if expected is not None and expected != "*" and (current is None or version_of(current) != expected):
            now = version_of(current) if current else None
            raise QueueVersionConflict(f"queue {name!r} is at version {now}, not {expected}: reload it and retry",
                                       details={"current_version": now})
        if expected == "*" and current is None:
            raise QueueVersionConflict(f"queue {name!r} no longer exists", details={"current_version": None})
        return current

    async def _write(self, queues: list[dict[str, Any]]) -> None:
        text = render(self._parsed.header, queues)
        parsed = parse(text)  # the whole file, checked as a hand edit would be
        if [settings_dict(q) for q in parsed.queues.values()] != [
                settings_dict(queue_from_dict(raw)) for raw in queues]:
            raise AssertionError("the queue file does not read back as written")
        await asyncio.to_thread(_atomic_write, self.path, text)
        self._seen = self._stat()
        self._parsed = parsed
        self.faults = []


def _atomic_write(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a part; a crash leaves at most a stray
    ``.queues-*.tmp`` beside it. The file keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
