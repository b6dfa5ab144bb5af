#!/usr/bin/env bash
# Installs what the tests need, then lint, format check and the test suite (CPU only, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev,rgb-metrics,export,video,tensorboard
# Fashion-MNIST (offline, Debian): best effort; the tests that need it are skipped without it.
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; } \
    >/dev/null 2>&1 || echo "note: dataset-fashion-mnist not installed; its tests will be skipped" >&2
fi
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m pytest -q
