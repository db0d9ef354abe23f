"""The lock files pin what pyproject.toml asks for (issue 15: reproducible installs).

The set-up, the Dockerfile and CI install only from the locks, so a dependency added to
pyproject.toml without re-locking (scripts/lock.sh) would be missing on a fresh machine while
present in a developer's virtualenv: this test says so first. It also keeps every line an exact
pin, so no install resolves anything by itself.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.12", "3.13")


def _pins(lock: Path) -> dict[str, tuple[Version, Marker | None]]:
    pins: dict[str, tuple[Version, Marker | None]] = {}
    for raw in lock.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        [spec] = list(req.specifier)
        assert spec.operator == "==", f"{lock.name}: {line!r} is not an exact pin"
        pins[canonicalize_name(req.name)] = (Version(spec.version), req.marker)
    return pins


def _wanted(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-test.lock", ("test",))])
@pytest.mark.parametrize("python", PYTHONS)
def test_every_dependency_is_pinned_within_what_pyproject_allows(lock: str, extras: tuple[str, ...],
                                                                  python: str) -> None:
    pins = _pins(ROOT / lock)
    env = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
           "platform_system": "Linux", "extra": ""}
    for req in _wanted(extras):
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in {lock}: run scripts/lock.sh"
        version, marker = pins[name]
        assert marker is None or marker.evaluate(env), f"{lock} leaves {req.name} out on Python {python}"
        assert req.specifier.contains(version, prereleases=True), \
            f"{lock} pins {req.name}=={version}, outside pyproject's {req.specifier}: run scripts/lock.sh"


def test_the_product_lock_is_part_of_the_test_lock() -> None:
    """The image runs the product lock, the suite the test lock: the same releases in both."""
    product, with_tests = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-test.lock")
    assert {n: v for n, (v, _) in product.items()} == {n: with_tests[n][0] for n in product}
