#!/usr/bin/env bash
# Sets everything up and starts the product on loopback: Asterisk and the daemon (SQLite) in a run
# folder ($CALLCORE_RUN_DIR, default ~/.local/state/callcore). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
bash scripts/venv.sh
# The browser console the daemon serves at /console/ (built when missing or out of date).
bash console/build.sh
CC=".venv/bin/callcore"
RUN_DIR=$(.venv/bin/python -c 'from callcore import config; print(config.load().run_dir)')
mkdir -p "$RUN_DIR/log"
# Setup prints the demo agents' SIP passwords the one time it creates them (an empty store).
AGENT_LINES=$($CC setup | sed -n 's/^demo agent \([0-9]*\): SIP password \([^ ]*\).*/               \1 password \2/p')
$CC asterisk start
if [ -f "$RUN_DIR/daemon.pid" ] && kill -0 "$(cat "$RUN_DIR/daemon.pid")" 2>/dev/null; then
  echo "daemon already running (pid $(cat "$RUN_DIR/daemon.pid"))"
else
  nohup $CC run >>"$RUN_DIR/log/daemon.log" 2>&1 &
  echo $! >"$RUN_DIR/daemon.pid"
fi
eval "$(.venv/bin/python - <<'PY'
from callcore import config
s = config.load()
print(f'API=http://{s.api.host}:{s.api.port}/api/v1 SIP={s.asterisk.host}:{s.asterisk.sip_port} TOKEN={s.api.token}')
PY
)"
for _ in $(seq 1 60); do curl -fs "$API/health" >/dev/null 2>&1 && break; sleep 0.5; done
ASTERISK_RUNS=$($CC asterisk version | sed -n 's/^running: //p')
if [ -z "$AGENT_LINES" ]; then
  AGENT_LINES="               (created at the first start; \`$CC agents list\` shows them, \`$CC agents password 1001\` prints a new password)"
fi
cat <<MSG

callcore is running.
  asterisk:    ${ASTERISK_RUNS:-not running (see $RUN_DIR/log/messages)}   (\`$CC asterisk version\`)
  health:      curl $API/health
  console:     ${API%/api/v1}/console/   (in a browser; log in with a user of the API)
  API token:   $TOKEN   (kept in $RUN_DIR/secrets.env)
  calls:       curl -H "Authorization: Bearer \$TOKEN" $API/calls
  live events: .venv/bin/callcore tail
  test call:   sipp $SIP -s 96881 -sn uac -m 1      (a citizen calling the hotline)
  agents:      register a softphone at sip:$SIP (UDP) with the agent number as user name:
$AGENT_LINES
  voicemail:   curl -H "Authorization: Bearer \$TOKEN" $API/voicemails   (messages callers left, the fallback's too)
               the fallback mailbox's PIN (random, this installation's own): $CC voicemail pin
  stop:        bash scripts/stop.sh
  logs:        $RUN_DIR/log/
MSG
