"""The menus in service, swapped atomically when a valid change arrives (T-2: no restart).

A call takes ``registry.current(name)`` once when it enters the IVR and keeps that ``ActiveMenu``
to the end, so a change only reaches new calls. A change (a file edited under ``ivr/``, an API PUT,
a rollback) is checked in full, prompts included, before it replaces anything: an invalid one raises
``MenuRejected`` with every fault, and the menu in service stays.

Prompts that state a rule (``{deadline:complaint}``, ``rules.py``) are synthesized with the values
configured when the menu is put in service; ``watch()`` also re-reads those values and, when an admin
changed one, re-synthesizes the prompts that use them (same version, new calls hear the new rule).

Files under ``ivr/`` and the store agree: at start the newest of the two wins (a changed file becomes a
new version; a file missing or invalid leaves the stored version in service), an API change is
written back to the file, and ``watch()`` picks up edits made to the files by hand.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from callcore.ivr import versions
from callcore.ivr.format import Fault, Menu
from callcore.ivr.rules import RuleValues, default_rules, uses_rules
from callcore.ivr.validator import PromptDirs, PromptTable, check, check_prompts, format_faults
from callcore.store.db import OUTAGE_ERRORS, Database
from callcore.store.base import utcnow

log = logging.getLogger(__name__)


class MenuRejected(ValueError):
    """A menu change was refused; ``faults`` says where and why. The menu in service is unchanged."""

    def __init__(self, name: str, faults: list[Fault]) -> None:
        super().__init__(f"menu {name!r} refused: " + "; ".join(str(f) for f in faults[:5])
                         + (f" (+{len(faults) - 5} more)" if len(faults) > 5 else ""))
        self.name = name
        self.faults = faults


class UnknownMenu(LookupError):
    pass


@dataclass(frozen=True, kw_only=True)
class ActiveMenu:
    """A validated menu and everything a call needs to run it, immutable."""

    name: str
    version: int  # the store's number (0 when running without a store)
    menu: Menu
    prompts: PromptTable
    sha256: str
    author: str
    changed_at: datetime


class MenuRegistry:
    def __init__(self, *, ivr_dir: Path, dirs: PromptDirs, db: Database | None = None,
                 rules: Callable[[], Awaitable[RuleValues]] | None = None) -> None:
        """``rules`` reads the configured rule values (``rules.stored_rules``); without it, the defaults."""
        self.ivr_dir = Path(ivr_dir)
        self.dirs = dirs
        self.db = db
        self._rules_source = rules
        self._rules: RuleValues | None = None
        self._active: dict[str, ActiveMenu] = {}
        self._file_sha: dict[str, str] = {}
        self._unstored: set[str] = set()
        self._lock = asyncio.Lock()

    # -- reading ----------------------------------------------------------------------------------

    def current(self, name: str = "main") -> ActiveMenu:
        """The version new calls get; raises ``UnknownMenu`` when no valid menu of that name was loaded."""
        try:
            return self._active[name]
        except KeyError:
            raise UnknownMenu(name) from None

    def names(self) -> list[str]:
        return sorted(self._active)

    # -- changing ---------------------------------------------------------------------------------

    async def _read_rules(self) -> RuleValues:
        """The configured rule values; the last ones read (or the defaults) while the store is down."""
        if self._rules_source is None:
            return default_rules()
        try:
            return dict(await self._rules_source())
        except OUTAGE_ERRORS as exc:
            log.warning("ivr menus: rule values unavailable (%s); keeping the last ones", exc)
            return self._rules if self._rules is not None else default_rules()

    async def _current_rules(self) -> RuleValues:
        if self._rules is None:
            self._rules = await self._read_rules()
        return self._rules

    async def _validate(self, name: str, text: str) -> tuple[Menu, PromptTable]:
        result = await check(text, self.dirs, rules=await self._current_rules())
        faults = list(result.faults)
        if result.menu is not None and result.menu.name != name:
            faults.insert(0, Fault(line=0, message=f"the file declares menu {result.menu.name!r}, expected {name!r}"))
        if faults or result.menu is None:
            raise MenuRejected(name, faults or [Fault(line=0, message="not a menu")])
        return result.menu, result.prompts

    async def propose(self, name: str, text: str, *, author: str, origin: str = "api", comment: str = "",
                      based_on: int | None = None, write_file: bool = True) -> ActiveMenu:
        """Validate ``text`` and put it in service for new calls; raise ``MenuRejected`` if it is invalid."""
        async with self._lock:
            sha = versions.sha256(text)
            current = self._active.get(name)
            if current is not None and current.sha256 == sha and name not in self._unstored:
                # Saved again unchanged (a double click, a form saved twice): no new version.
                log.info("ivr menu %s: unchanged from version %s, no new version", name, current.version)
                return current
            menu, prompts = await self._validate(name, text)
            number = 0
            when = utcnow()
            if self.db is not None:
                try:
                    row = await versions.add(self.db, menu=name, source=text, label=menu.label, author=author,
                                             origin=origin, comment=comment, based_on=based_on)
                except OUTAGE_ERRORS as exc:
                    if origin != "file":
                        raise
                    # A file change still serves calls; it is stored when the store is back (scan()).
                    log.warning("ivr menu %s from file in service unstored (store unavailable: %s)", name, exc)
                    self._unstored.add(name)
                else:
                    number, when = row.version, row.created_at
                    self._unstored.discard(name)
            active = ActiveMenu(name=name, version=number, menu=menu, prompts=prompts, sha256=sha, author=author,
                                changed_at=when)
            if write_file and origin != "file":
                try:
                    self._write_file(name, text)
                except OSError as exc:  # the store has the version; the file catches up on the next change
                    log.error("ivr menu %s version %s not written to %s: %s", name, number, self.ivr_dir, exc)
            self._file_sha[name] = sha
            self._active[name] = active
            log.info("ivr menu %s version %s in service (%s by %s)", name, number, origin, author)
            return active

    async def rollback(self, name: str, version: int, *, author: str) -> ActiveMenu:
        """Put an earlier version back in service as a new version (the history keeps both)."""
        if self.db is None:
            raise UnknownMenu(f"{name} version {version}: no store")
        row = await versions.get(self.db, name, version)
        if row is None:
            raise UnknownMenu(f"{name} version {version}")
        return await self.propose(name, row.source, author=author, origin="rollback",
                                  comment=f"rollback to version {version}", based_on=version)

    # -- files and start-up -----------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.ivr_dir / f"{name}.yaml"

    def _write_file(self, name: str, text: str) -> None:
        self.ivr_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.ivr_dir, prefix=f".{name}-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self._path(name))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _files(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.ivr_dir.glob("*.yaml")) if not p.name.startswith(".")}

    async def load(self) -> None:
        """Start-up: the stored versions first, then every file under ``ivr/`` that differs from them.

        Never raises for a bad menu: the faults are logged and the stored version (if any) serves.
        """
        if self.db is not None:
            try:
                names = await versions.menus(self.db)
                for name in names:
                    row = await versions.latest(self.db, name)
                    if row is None:
                        continue
                    try:
                        menu, prompts = await self._validate(name, row.source)
                    except MenuRejected as exc:
                        log.error("stored ivr menu %s version %s is no longer valid:\n%s", name, row.version,
                                  format_faults(exc.faults, f"{name} v{row.version}"))
                        continue
                    self._active[name] = ActiveMenu(name=name, version=row.version, menu=menu, prompts=prompts,
                                                    sha256=row.sha256, author=row.author, changed_at=row.created_at)
            except OUTAGE_ERRORS as exc:
                log.warning("ivr menus: store unavailable at start (%s); using the files", exc)
        await self.scan()

    async def _store_unstored(self) -> None:
        for name in sorted(self._unstored):
            active = self._active.get(name)
            if active is None or self.db is None:
                self._unstored.discard(name)
                continue
            try:
                row = await versions.add(self.db, menu=name, source=active.menu.source, label=active.menu.label,
                                         author=active.author, origin="file")
            except OUTAGE_ERRORS:
                return
            async with self._lock:
                if self._active.get(name) is active:
                    self._active[name] = replace(active, version=row.version, changed_at=row.created_at)
                self._unstored.discard(name)

    async def scan(self) -> list[str]:
        """Take in files that changed since last seen; returns the names put in service."""
        await self._store_unstored()
        changed = []
        for name, path in self._files().items():
            try:
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                log.error("ivr menu file %s unreadable: %s", path, exc)
                continue
            sha = versions.sha256(text)
            if self._file_sha.get(name) == sha:
                continue
            self._file_sha[name] = sha
            active = self._active.get(name)
            if active is not None and active.sha256 == sha:
                continue
            try:
                await self.propose(name, text, author=f"file:{path.name}", origin="file")
                changed.append(name)
            except MenuRejected as exc:
                log.error("ivr menu file %s refused, %s stays in service:\n%s", path,
                          f"version {active.version}" if active else "no menu", format_faults(exc.faults, str(path)))
        return changed

    async def refresh_rules(self) -> list[str]:
        """Re-read the rule values; when they changed, re-synthesize the prompts of every menu that
        states a rule and put them in service. Returns the names of the menus refreshed."""
        values = await self._read_rules()
        if values == self._rules:
            return []
        self._rules = values
        refreshed = []
        for name, active in list(self._active.items()):
            if not any(item.kind == "say" and uses_rules(item.value)
                       for _role, prompt in active.menu.all_prompts() for item in prompt):
                continue
            table, faults = await check_prompts(active.menu, self.dirs, rules=values)
            if faults:
                log.error("ivr menu %s: prompts not re-synthesized for the new rules, the old ones stay:\n%s",
                          name, format_faults(faults, f"{name} v{active.version}"))
                continue
            async with self._lock:
                if self._active.get(name) is active:
                    self._active[name] = replace(active, prompts=table)
                    refreshed.append(name)
                    log.info("ivr menu %s version %s: prompts re-synthesized for changed rules", name, active.version)
        return refreshed

    async def watch(self, interval: float = 2.0) -> None:
        """Poll ``ivr/`` for edits and the rule values for changes until cancelled (cheap: a hash of a
        few small files, one small query)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.scan()
                await self.refresh_rules()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad file
                log.exception("ivr menu scan failed")
