"""Which Asterisk runs, and how to invoke it: the one place that knows.

``CALLCORE_ASTERISK`` (or ``asterisk.which`` in the settings) names it:

- ``16`` (or ``system``): the distribution's ``asterisk`` on the PATH — bullseye's 16 on Debian 12,
  Ubuntu 24.04's own 20.
- ``22``: Asterisk 22 LTS from Debian's unstable suite, in the self-contained root
  ``scripts/install-asterisk-22.sh`` builds (``/opt/callcore/asterisk-22``, or
  ``$CALLCORE_ASTERISK_22_ROOT``). It is run without a chroot: the root's own dynamic loader is
  started with the root's libraries on its path and the root's ``asterisk`` as its program, so sid's
  Asterisk runs on Debian 12's kernel with sid's C library; its modules and data are read from the root
  (``astmoddir``/``astdatadir`` in the rendered ``asterisk.conf``). Everything it writes stays in the
  run folder, as for the system one.
- a path to an ``asterisk`` binary: a source build (``/usr/local/sbin/asterisk``) or another root's
  ``<root>/usr/sbin/asterisk``.

Unset: ``default()``: 22 where its root has been built (``scripts/install-system.sh`` builds it on
Debian 12), else the distribution's (Ubuntu 24.04's 20 LTS). The rendering records the installation it rendered for beside ``asterisk.conf``
(``INSTALLATION_FILE``), and starting, stopping and CLI calls read it from there, so the process
always matches its configuration's module directory whatever the environment of a later command.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from callcore.config import ConfigError, Settings

ENV = "CALLCORE_ASTERISK"
ROOT_22 = Path(os.environ.get("CALLCORE_ASTERISK_22_ROOT") or "/opt/callcore/asterisk-22")
INSTALLATION_FILE = "callcore-asterisk.json"
SYSTEM_MODULES = "/usr/lib/asterisk/modules"
SYSTEM_DATA = "/usr/share/asterisk"


@dataclass(frozen=True, kw_only=True)
class Installation:
    """One Asterisk on this machine: its binary, and what a root of its own needs to run it."""

    name: str
    binary: str
    modules_dir: str
    data_dir: str
    sbin_dir: str
    # A root run without chroot: its dynamic loader and library path (empty for an ordinary binary).
    loader: str = ""
    library_path: str = ""

    def argv(self, *args: str) -> list[str]:
        """The command line that runs this Asterisk with ``args``."""
        if self.loader:
            return [self.loader, "--library-path", self.library_path, self.binary, *args]
        return [self.binary, *args]

    def version(self) -> str:
        """What the binary says it is (``asterisk -V``: "Asterisk 22.10.1+dfsg..."), "" when it cannot run."""
        return _version(tuple(self.argv("-V")))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Installation:
        data = json.loads(text)
        return cls(**{k: str(v) for k, v in data.items()})


@functools.lru_cache(maxsize=16)
def _version(argv: tuple[str, ...]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _system() -> Installation:
    binary = shutil.which("asterisk") or "/usr/sbin/asterisk"
    return Installation(name="system", binary=binary, modules_dir=SYSTEM_MODULES, data_dir=SYSTEM_DATA,
                        sbin_dir=str(Path(binary).parent))


def _root_of(binary: Path) -> Path | None:
    """``<root>`` for a ``<root>/usr/sbin/asterisk`` that comes with its own loader, else None."""
    if binary.parent.name != "sbin" or binary.parent.parent.name != "usr":
        return None
    root = binary.parent.parent.parent
    if root == Path("/") or not any(root.glob("lib*/ld-linux*.so*")):
        return None
    return root


def from_root(root: Path, name: str) -> Installation:
    """An installation in a self-contained root (a debootstrapped Debian with asterisk installed)."""
    loaders = sorted(root.glob("lib64/ld-linux*.so*")) or sorted(root.glob("lib/ld-linux*.so*"))
    binary = root / "usr" / "sbin" / "asterisk"
    if not loaders or not binary.exists():
        raise ConfigError(f"{ENV}={name}: no Asterisk root at {root} (run scripts/install-asterisk-22.sh)")
    # Debian's multiarch folders (usr/lib/x86_64-linux-gnu): the libraries and, since 18, the modules.
    triplets = sorted(p.name for p in (root / "usr" / "lib").glob("*-linux-gnu*") if p.is_dir())
    libs = [str(root / base / t) for t in triplets for base in ("usr/lib", "lib")]
    modules = next((p for p in (*(root / "usr/lib" / t / "asterisk/modules" for t in triplets),
                                root / "usr/lib/asterisk/modules") if p.is_dir()), None)
    if modules is None:
        raise ConfigError(f"{ENV}={name}: {root} has no Asterisk modules folder")
    return Installation(name=name, binary=str(binary), modules_dir=str(modules),
                        data_dir=str(root / "usr" / "share" / "asterisk"), sbin_dir=str(binary.parent),
                        loader=str(loaders[0]), library_path=":".join([*libs, str(root / "usr/lib"), str(root / "lib")]))


def _from_path(binary: Path, name: str) -> Installation:
    root = _root_of(binary)
    if root is not None:
        return from_root(root, name)
    if not binary.exists():
        raise ConfigError(f"{ENV}={name}: no such file")
    # A source build under a prefix (/usr/local/sbin/asterisk: modules in /usr/local/lib/asterisk/modules,
    # data in /var/lib/asterisk by its default astdatadir) or a packaged one under /usr.
    prefix = binary.parent.parent
    modules = next((str(p) for p in (prefix / "lib/asterisk/modules", prefix / "lib64/asterisk/modules") if p.is_dir()),
                   SYSTEM_MODULES)
    data = next((str(p) for p in (prefix / "share/asterisk", Path("/var/lib/asterisk")) if (p / "documentation").is_dir()),
                SYSTEM_DATA)
    return Installation(name=name, binary=str(binary), modules_dir=modules, data_dir=data, sbin_dir=str(binary.parent))


def default() -> str:
    """What runs when nothing is chosen: Asterisk 22 LTS where its root exists, else the
    distribution's (Ubuntu 24.04's 20 LTS; Debian 12's bullseye 16 only when 22 could not be built,
    which ``scripts/install-system.sh`` warns about)."""
    return "22" if (ROOT_22 / "usr" / "sbin" / "asterisk").exists() else "system"


def choose(which: str) -> Installation:
    """The installation ``which`` names ("16", "system", "22" or a path); "" is ``default()``."""
    which = which.strip() or default()
    if which in ("16", "system"):
        return _system()
    if which == "22":
        return from_root(ROOT_22, which)
    if "/" in which:
        return _from_path(Path(which).expanduser(), which)
    raise ConfigError(f"{ENV}: expected 16, 22 or the path of an asterisk binary, got {which!r}")


def selected(settings: Settings, env: Mapping[str, str] | None = None) -> Installation:
    """The installation this configuration asks for: ``CALLCORE_ASTERISK`` first, then
    ``asterisk.which``; ``asterisk.modules_dir``/``data_dir``, when set, override its folders."""
    env = os.environ if env is None else env
    inst = choose(env.get(ENV) or settings.asterisk.which)
    ast = settings.asterisk
    if ast.modules_dir or ast.data_dir:
        inst = Installation(**{**asdict(inst), "modules_dir": ast.modules_dir or inst.modules_dir,
                               "data_dir": ast.data_dir or inst.data_dir})
    return inst


def record(etc: Path, inst: Installation) -> None:
    """Notes beside ``asterisk.conf`` which installation it was rendered for (see ``recorded``)."""
    (etc / INSTALLATION_FILE).write_text(inst.to_json(), encoding="utf-8")


def recorded(conf: Path) -> Installation:
    """The installation ``conf`` (a rendered ``asterisk.conf``) was rendered for; for a configuration
    rendered before this was recorded, the one the environment selects."""
    try:
        return Installation.from_json((conf.parent / INSTALLATION_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return choose(os.environ.get(ENV, ""))
