#!/usr/bin/env bash
# Fresh machine -> a GAN drawing digits (install, 3 minutes of the default preset on MNIST, samples and a
# GIF): the same as python scripts/demo.py, which also runs on macOS and Windows.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/demo.py
