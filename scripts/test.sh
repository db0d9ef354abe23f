#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 / Ubuntu machine: installs what is missing, makes sure
# PostgreSQL runs, then runs unit, store (SQLite and PostgreSQL) and end-to-end tests (real
# Asterisk, SIPp). Extra arguments go to pytest.
#
# The journeys run on every supported Asterisk the machine has: on Debian 12, 22 LTS (the default, in
# its own root) and bullseye's 16; on Ubuntu 24.04, the distribution's 20. Every test but the journeys
# runs once, on the default. CALLCORE_TEST_ASTERISKS (names of callcore/asterisk/installation.py,
# e.g. "22" or "22 16") chooses others; empty, or CALLCORE_ASTERISK set, means one run on that one.
# Extra arguments always mean one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
bash scripts/venv.sh
export CALLCORE_TEST_PG_DSN="${CALLCORE_TEST_PG_DSN:-$(bash scripts/postgres.sh)}"
ulimit -n 65536 2>/dev/null || true
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider)
if [ -z "${CALLCORE_TEST_ASTERISKS+set}" ] && [ -z "${CALLCORE_ASTERISK:-}" ]; then
  CALLCORE_TEST_ASTERISKS=""
  ROOT_22="${CALLCORE_ASTERISK_22_ROOT:-/opt/callcore/asterisk-22}"
  [ ! -x "$ROOT_22/usr/sbin/asterisk" ] || CALLCORE_TEST_ASTERISKS="22"
  ! command -v asterisk >/dev/null 2>&1 || CALLCORE_TEST_ASTERISKS="$CALLCORE_TEST_ASTERISKS system"
fi
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
