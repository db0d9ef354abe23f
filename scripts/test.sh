#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 / Ubuntu machine: installs what is missing, makes sure
# PostgreSQL runs, then runs unit, store (SQLite and PostgreSQL) and end-to-end tests (real
# Asterisk, SIPp). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
bash scripts/venv.sh
export CALLCORE_TEST_PG_DSN="${CALLCORE_TEST_PG_DSN:-$(bash scripts/postgres.sh)}"
ulimit -n 65536 2>/dev/null || true
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
