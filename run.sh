#!/usr/bin/env bash
# Set up and run the whole system on the embedded default (SQLite + a private redis-server):
# migrations and the reference city, the RQ workers and scheduler, and the web server with
# the REST API on http://127.0.0.1:8050. Honours DATABASE_URL and REDIS_URL when set.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
.venv/bin/python -m seed ensure

.venv/bin/python -m workers up &
workers=$!
web=
stop() { kill -TERM $workers $web 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

# The web server finds the embedded Redis through the state file `workers up` writes.
state="${GRID_VAR_DIR:-var}/redis/state.json"
for _ in $(seq 1 100); do
  if [ -n "${REDIS_URL:-}" ] || [ -f "$state" ]; then break; fi
  kill -0 "$workers" 2>/dev/null || { echo "workers exited during start-up" >&2; exit 1; }
  sleep 0.2
done
.venv/bin/python -m dashboard --host "${HOST:-127.0.0.1}" --port "${PORT:-8050}" &
web=$!
wait -n "$workers" "$web"  # either one stopping stops the system
