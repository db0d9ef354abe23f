"""Where the built console lives and how one of its files is answered.

Vite writes ``console/dist/``: ``index.html`` and content-hashed files under ``assets/``. A
hashed file never changes under its name, so it may be cached for a year; ``index.html`` names
the current hashes, so it is always revalidated. Any other path under ``/console/`` is a client
route of the single-page app and gets ``index.html`` (the router in the browser draws it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The repository's console folder, beside the ``callcore`` package (an editable install or a
# checkout); ``CALLCORE_CONSOLE_DIR`` names another built folder (a package, a container image).
DEFAULT_DIST = Path(__file__).resolve().parents[2] / "console" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=300"


def dist_dir() -> Path:
    override = os.environ.get("CALLCORE_CONSOLE_DIR", "").strip()
    return Path(override) if override else DEFAULT_DIST


@dataclass(frozen=True, kw_only=True)
class Asset:
    """One answer: the file to send and its cache policy."""

    path: Path
    cache_control: str


class ConsoleAssets:
    """The built files of one folder; ``resolve`` maps a URL path below ``/console/`` to a file."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def index(self) -> Path:
        return self.root / "index.html"

    @property
    def built(self) -> bool:
        return self.index.is_file()

    def resolve(self, rel: str) -> Asset | None:
        """The file for ``rel`` (the path after ``/console/``), ``index.html`` for a client route,
        None when the console is not built. A path that climbs out of the folder is a client
        route too: it can never name a file outside ``root``."""
        if not self.built:
            return None
        rel = rel.lstrip("/")
        if rel and "\x00" not in rel:
            candidate = (self.root / rel).resolve()
            if candidate.is_relative_to(self.root) and candidate.is_file():
                if candidate.name == "index.html":
                    return Asset(path=candidate, cache_control=REVALIDATE)
                hashed = candidate.parent == self.root / "assets"
                return Asset(path=candidate, cache_control=IMMUTABLE if hashed else SHORT)
            if rel.startswith("assets/"):
                # A hashed file of an older build: a 404, not the page (a script must not get HTML).
                return Asset(path=self.root / rel, cache_control=REVALIDATE)
        return Asset(path=self.index, cache_control=REVALIDATE)
