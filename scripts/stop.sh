#!/usr/bin/env bash
# Stops the daemon (calls in progress are handed to the dialplan's voicemail) and Asterisk.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=$(.venv/bin/python -c 'from callcore import config; print(config.load().run_dir)')
if [ -f "$RUN_DIR/daemon.pid" ]; then
  pid=$(cat "$RUN_DIR/daemon.pid")
  kill "$pid" 2>/dev/null && for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  rm -f "$RUN_DIR/daemon.pid"
fi
.venv/bin/callcore asterisk stop
