#!/usr/bin/env bash
# Creates .venv with the project and its test tools (idempotent; re-run after pulling).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "callcore needs Python 3.11 or newer")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.callcore-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-test.lock -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  # Exactly the locked releases (scripts/lock.sh makes the lock), then the project itself without
  # resolving anything again: what runs here is what CI ran.
  .venv/bin/pip install -q -r requirements-test.lock
  .venv/bin/pip install -q --no-deps -e .
  touch "$stamp"
fi
