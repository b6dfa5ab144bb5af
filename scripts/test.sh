#!/usr/bin/env bash
# Installs what the tests need, then lint, format check and the test suite (CPU only, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev,rgb-metrics
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m pytest -q
