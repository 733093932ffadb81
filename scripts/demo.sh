#!/usr/bin/env bash
# `make demo`: start the embedded server (SQLite, no other services) unless one already
# answers, run the demo training against it, and leave the server running.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${GRADSIGHT_HOST:-127.0.0.1}
port=${GRADSIGHT_PORT:-8000}
url="http://$host:$port"
py=.venv/bin/python
mkdir -p .gradsight

healthy() {
  "$py" - "$url" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/api/v1/health", timeout=2) as r:
        sys.exit(0 if b'"status":"ok"' in r.read() else 1)
except Exception:
    sys.exit(1)
PY
}

if healthy; then
  echo "A Gradsight server is already running at $url"
else
  export GRADSIGHT_DATA_DIR=${GRADSIGHT_DATA_DIR:-$PWD/.gradsight/data}
  nohup .venv/bin/gradsight-server serve --host "$host" --port "$port" > .gradsight/server.log 2>&1 &
  echo $! > .gradsight/server.pid
  for _ in $(seq 1 120); do healthy && break; sleep 0.25; done
  if ! healthy; then
    echo "The server did not start; its log (.gradsight/server.log) ends with:" >&2
    tail -n 20 .gradsight/server.log >&2
    echo "If port $port is taken, try: GRADSIGHT_PORT=8001 make demo" >&2
    exit 1
  fi
  echo "Started the Gradsight server at $url (data in $GRADSIGHT_DATA_DIR)"
fi

echo
echo "    Dashboard: $url/"
echo
GRADSIGHT_URL="$url" "$py" examples/demo.py
echo
echo "The server keeps running at $url/ (log: .gradsight/server.log). Stop it with: make stop"
