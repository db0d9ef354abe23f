#!/usr/bin/env bash
# Sets everything up and starts the product on loopback: Asterisk and the daemon (SQLite) in a run
# folder ($CALLCORE_RUN_DIR, default ~/.local/state/callcore). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
bash scripts/venv.sh
CC=".venv/bin/callcore"
RUN_DIR=$(.venv/bin/python -c 'from callcore import config; print(config.load().run_dir)')
mkdir -p "$RUN_DIR/log"
$CC setup >/dev/null
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
print(f'API=http://{s.api.host}:{s.api.port}/api/v1 SIP={s.asterisk.host}:{s.asterisk.sip_port} TOKEN={s.api.token} AGENTPW={s.asterisk.agent_password} AGENTS="{" ".join(a.number for a in s.asterisk.agents)}"')
PY
)"
for _ in $(seq 1 60); do curl -fs "$API/health" >/dev/null 2>&1 && break; sleep 0.5; done
cat <<MSG

callcore is running.
  health:      curl $API/health
  API token:   $TOKEN   (kept in $RUN_DIR/secrets.env)
  calls:       curl -H "Authorization: Bearer \$TOKEN" $API/calls
  live events: .venv/bin/callcore tail
  test call:   sipp $SIP -s 96881 -sn uac -m 1      (a citizen calling the hotline)
  agents:      register a softphone at sip:$SIP as one of: $AGENTS, password $AGENTPW
  stop:        bash scripts/stop.sh
  logs:        $RUN_DIR/log/
MSG
