#!/usr/bin/env bash
# Installs what the tests need, then lint, format check and the test suite (CPU only, a few minutes):
# the same as python scripts/test.py, which also runs on macOS and Windows.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/test.py "$@"
