#!/usr/bin/env bash
# The original TF2 DCGAN tutorial beside ganforge, on this machine. TensorFlow lives in its own virtual
# environment (never a ganforge dependency). Usage, from the repository root:
#   bash benchmarks/tf_reference/run.sh equivalence        # port parity: forward pass + one training step
#   bash benchmarks/tf_reference/run.sh tf1-equivalence    # tf1-cnn against the TF1 notebook's graph
#   bash benchmarks/tf_reference/run.sh train OUT [EPOCHS] [SAMPLES] # the tutorial as written; grids, seconds
#                                                          # per epoch (and SAMPLES generated images per epoch)
#   bash benchmarks/tf_reference/run.sh side-by-side [ARGS] # its train_step against ganforge's, interleaved
#   bash benchmarks/tf_reference/run.sh tf1-train OUT [ITERATIONS] [SAMPLES] # the TF1 notebook's GAN trained
#                                                          # in TF; samples.npy for `ganforge eval`
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${TF_VENV:-$here/.venv-tf}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q tensorflow-cpu numpy "torch==2.13.0" pillow
fi
# Keras 2 for the Keras-GAN comparison (venvs made before it was needed get it here).
"$venv/bin/python" -c "import tf_keras" 2>/dev/null || "$venv/bin/pip" install -q tf-keras
export TF_CPP_MIN_LOG_LEVEL=2
# MNIST's training images as an idx file (ganforge puts them in its cache from whichever source it has).
mnist_idx() {
  python3 -c "from ganforge.data.paths import cache_dir; from ganforge.data import load_data, DataConfig; \
load_data(DataConfig()); print(cache_dir() / 'datasets/mnist/train-images-idx3-ubyte')"
}
case "${1:-}" in
  equivalence)
    cd "$here" && PYTHONPATH="$here/../../src" "$venv/bin/python" equivalence.py ;;
  tf1-equivalence)
    cd "$here" && PYTHONPATH="$here/../../src" "$venv/bin/python" tf1_equivalence.py ;;
  train)
    "$venv/bin/python" "$here/dcgan_tf2.py" "$(mnist_idx)" "${2:?OUT directory}" --epochs "${3:-5}" \
      --samples "${4:-0}" ;;
  tf1-train)
    cd "$here" && "$venv/bin/python" tf1_notebook.py "$(mnist_idx)" "${2:?OUT directory}" \
      --iterations "${3:-3000}" --samples "${4:-2000}" ;;
  side-by-side)
    shift; python3 "$here/side_by_side.py" --tf-python "$venv/bin/python" "$@" ;;
  *) echo "usage: $0 equivalence | tf1-equivalence | train OUT [EPOCHS] [SAMPLES] | tf1-train OUT" \
       "[ITERATIONS] [SAMPLES] | side-by-side [ARGS]" >&2; exit 2 ;;
esac
