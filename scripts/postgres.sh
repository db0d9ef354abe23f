#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the store tests and prints the DSN
# the tests use. Starts an installed cluster that is down; on a fresh install whose 127.0.0.1 login
# needs a password, sets one for a local test role (never a production setting).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
dsn_trust="postgresql://postgres@127.0.0.1:5432/test"
can() { PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
  for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do
    $SUDO pg_ctlcluster --skip-systemctl-redirect "${c%/*}" "${c#*/}" start >&2 || true
  done
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }

if can "$dsn_trust"; then echo "$dsn_trust"; exit 0; fi
# A fresh Debian/Ubuntu cluster: peer/scram auth and no 'test' database.
as_pg psql -qc "ALTER ROLE postgres PASSWORD 'callcore-test'" >&2
dsn_pw="postgresql://postgres:callcore-test@127.0.0.1:5432/test"
can "postgresql://postgres:callcore-test@127.0.0.1:5432/postgres" || { echo "cannot log in to PostgreSQL" >&2; exit 1; }
can "$dsn_pw" || as_pg createdb test >&2
echo "$dsn_pw"
