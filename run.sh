#!/usr/bin/env bash
# Set up and run the whole system on the embedded default (SQLite + a private redis-server).
# Honours DATABASE_URL and REDIS_URL when they are set. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
.venv/bin/python -m seed ensure
exec .venv/bin/python -m workers up
