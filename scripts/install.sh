#!/usr/bin/env bash
# Installs ganforge and what it needs into the current Python: the same as python scripts/install.py.
# Usage: bash scripts/install.sh [EXTRAS]
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/install.py "$@"
