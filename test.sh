#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: makes the virtualenv, then runs pytest.
# Extra arguments go to pytest (e.g. ./test.sh -m db, ./test.sh tests/test_lifecycle.py).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
exec .venv/bin/python -m pytest "$@"
