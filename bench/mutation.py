"""Mutation score of the core logic, per module (issue 15), with mutmut.

A green suite says little if a changed ``<=`` or a forgotten role still passes it. For each target of
``bench/mutation.toml`` (a module and its own unit tests) this copies the project into a scratch folder,
writes mutmut's configuration there (so each module runs against its own tests only, and mutmut's
``mutants/`` folder never lands in the working tree), runs ``mutmut run`` under ``nice`` and prints
killed / total and the score. Survivors are listed with ``--survivors`` (``mutmut show NAME`` in the
scratch folder prints a mutant's diff).

    .venv/bin/python bench/mutation.py                      # every target, one worker
    .venv/bin/python bench/mutation.py privacy workflow     # some targets
    .venv/bin/python bench/mutation.py --jobs 2 --survivors privacy
    .venv/bin/python bench/mutation.py journal --only '*x_apply_event__*' '*ǁwrite__*'   # some functions

A measurement, not part of every CI run: a target takes minutes (workflow, about a thousand mutants:
a quarter of an hour on the shared two cores). A target's ``pytest_args`` may narrow its tests (store
tests on SQLite only); the PostgreSQL database of the tests is ``CALLCORE_TEST_PG_DSN`` as in the suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "bench" / "mutation.toml"
# What the tests read besides the package (menus, queues, migrations, templates, FastAGI scripts).
ALSO_COPY = ("db", "ivr", "queues", "asterisk-conf", "agi_scripts", "harness", "bench")
SKIP = shutil.ignore_patterns(".venv", ".git", "console", "mutants", "__pycache__", "*.egg-info", "node_modules",
                              ".hypothesis", ".pytest_cache", ".mypy_cache")
KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"skipped", "not checked"}


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    tests: tuple[str, ...]
    pytest_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Score:
    target: Target
    statuses: Counter[str]
    seconds: float

    @property
    def killed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s in KILLED)

    @property
    def total(self) -> int:
        return sum(n for s, n in self.statuses.items() if s not in NOT_RUN)

    @property
    def ratio(self) -> float:
        return self.killed / self.total if self.total else 0.0


def load_targets() -> tuple[float, list[Target]]:
    data = tomllib.loads(CONFIG.read_text("utf-8"))
    targets = [Target(name, t["module"], tuple(t["tests"]), tuple(t.get("pytest_args", ())))
               for name, t in data["targets"].items()]
    return float(data.get("goal", 0.85)), targets


def _setup_cfg(t: Target, tests: list[str], pytest_args: list[str]) -> str:
    def lines(values: list[str] | tuple[str, ...]) -> str:
        return "".join(f"\n    {v}" for v in values)
    return ("[mutmut]\n"
            "source_paths = callcore\n"
            f"only_mutate = {t.module}\n"
            f"also_copy ={lines(ALSO_COPY)}\n"
            f"pytest_add_cli_args_test_selection ={lines(tests)}\n"
            f"pytest_add_cli_args ={lines(pytest_args)}\n")


def prepare(t: Target, work: Path) -> Path:
    """A fresh copy of the project with mutmut configured for this one target."""
    scratch = work / t.name
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(ROOT, scratch, ignore=SKIP)
    tests = [p for p in t.tests if (ROOT / p).exists()]
    if not tests:
        raise SystemExit(f"{t.name}: none of its tests exist: {', '.join(t.tests)}")
    # No cache folder, quiet, and no per-test timeout of the suite's: mutmut times mutants out itself.
    args = ["-p", "no:cacheprovider", "-q", "-x", *t.pytest_args]
    (scratch / "setup.cfg").write_text(_setup_cfg(t, tests, args), "utf-8")
    return scratch


def run(t: Target, work: Path, jobs: int, only: list[str]) -> Score:
    """``only``: mutant name patterns (mutmut's fnmatch); the others stay "not checked" and out of the score."""
    scratch = prepare(t, work)
    env = dict(os.environ)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    start = time.monotonic()
    log = (scratch / "mutmut.log").open("w")
    with log:
        subprocess.run(["nice", "-n", "10", mutmut, "run", "--max-children", str(jobs), *only], cwd=scratch, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=scratch, env=env, capture_output=True,
                         text=True, check=False).stdout
    statuses: Counter[str] = Counter()
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            statuses[status] += 1
    return Score(t, statuses, seconds)


def survivors(t: Target, work: Path) -> list[str]:
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    out = subprocess.run([mutmut, "results"], cwd=work / t.name, capture_output=True, text=True, check=False).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="target names from bench/mutation.toml (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="mutmut workers (the machine is shared: keep it low)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/callcore-mutation"), help="scratch folder")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that survived")
    parser.add_argument("--only", nargs="+", default=[], metavar="PATTERN",
                        help="mutate only the functions whose mutant names match (e.g. '*x_apply_event__*')")
    args = parser.parse_args()
    goal, targets = load_targets()
    known = {t.name: t for t in targets}
    unknown = [n for n in args.targets if n not in known]
    if unknown:
        raise SystemExit(f"unknown targets {unknown}; known: {', '.join(known)}")
    chosen = [known[n] for n in args.targets] if args.targets else targets
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"{'target':<18} {'module':<34} {'killed/total':>13} {'score':>7}  {'time':>6}  other")
    below = []
    for t in chosen:
        s = run(t, args.work, args.jobs, args.only)
        other = ", ".join(f"{k} {n}" for k, n in sorted(s.statuses.items()) if k not in KILLED)
        print(f"{t.name:<18} {t.module:<34} {s.killed:>6}/{s.total:<6} {s.ratio:>6.1%}  {s.seconds:>5.0f}s  {other}",
              flush=True)
        if args.survivors:
            for line in survivors(t, args.work):
                print(f"    {line}")
        if s.ratio < goal:
            below.append(t.name)
    if below:
        print(f"below the goal of {goal:.0%}: {', '.join(below)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
