#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 / Ubuntu machine: installs what is missing, makes sure
# PostgreSQL runs, then runs unit, store (SQLite and PostgreSQL) and end-to-end tests (real
# Asterisk, SIPp). Extra arguments go to pytest.
#
# CALLCORE_TEST_ASTERISKS="22 16" (the Asterisks of callcore/asterisk/installation.py) runs every test
# but the journeys once, then tests/e2e once on each of them; unset, everything runs once on the
# default Asterisk (or the one CALLCORE_ASTERISK picks). Extra arguments always mean one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
bash scripts/venv.sh
export CALLCORE_TEST_PG_DSN="${CALLCORE_TEST_PG_DSN:-$(bash scripts/postgres.sh)}"
ulimit -n 65536 2>/dev/null || true
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider)
if [ -z "${CALLCORE_TEST_ASTERISKS:-}" ] || [ "$#" -gt 0 ]; then
  exec "${PYTEST[@]}" "$@"
fi
rc=0
"${PYTEST[@]}" --ignore=tests/e2e || rc=$?
for which in $CALLCORE_TEST_ASTERISKS; do
  echo "== tests/e2e on Asterisk $which"
  CALLCORE_ASTERISK="$which" "${PYTEST[@]}" tests/e2e || rc=$?
done
exit "$rc"
