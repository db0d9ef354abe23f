#!/usr/bin/env bash
# Re-pins every dependency (run after changing pyproject.toml's dependencies, or to take newer
# releases on purpose): requirements.lock for the product, requirements-test.lock for the product
# and its test tools. The set-up (scripts/venv.sh), the Dockerfile and CI install only from these,
# so a release published tomorrow changes nothing until someone re-locks and the suite passes.
# Universal: one lock serves every Python the set-up accepts (3.11 on Debian 12, 3.12 on Ubuntu 24.04).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.venv-lock
[ -x "$tools/bin/uv" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install -q 'uv>=0.5,<1'; }
compile() { "$tools/bin/uv" pip compile pyproject.toml --universal --python-version 3.11 --quiet "$@"; }
compile -o requirements.lock
compile --extra test -o requirements-test.lock
echo "locked: $(grep -c '==' requirements.lock) product, $(grep -c '==' requirements-test.lock) with tests"
