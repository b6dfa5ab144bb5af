#!/usr/bin/env bash
# Installs what the tests need, then lint, format check and the test suite (CPU only, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev,rgb-metrics,export,video,tensorboard
# From Debian, best effort (the tests that need them are skipped, with the reason, without them):
# Fashion-MNIST (offline data) and chromium (the browser tests drive it through Playwright).
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
    >/dev/null 2>&1 || echo "note: could not install ${missing[*]}; their tests will be skipped" >&2
fi
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m pytest -q
