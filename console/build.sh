#!/usr/bin/env bash
# Builds the console into console/dist/ when it is missing or older than its sources: `npm ci`
# (exactly package-lock.json) when node_modules does not match the lock, then `npm run build`
# (type check, then Vite, which prints each file's size, gzipped too). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null 2>&1 || { echo "console: npm is missing (scripts/install-system.sh installs it)" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ -f dist/index.html ] && [ -z "$(find src public index.html vite.config.ts tsconfig.json package-lock.json -newer dist/index.html -print -quit)" ]; then
  echo "console: built (dist/ is newer than its sources)"
  exit 0
fi
npm run build
