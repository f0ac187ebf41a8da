#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: makes the virtualenv, installs Chromium and a
# Chinese font for the browser tests when missing (apt), then runs pytest.
# Extra arguments go to pytest (e.g. ./test.sh -m db, ./test.sh tests/test_lifecycle.py).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
source scripts/browser.sh
exec .venv/bin/python -m pytest "$@"
