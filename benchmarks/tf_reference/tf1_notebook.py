"""The TF1 notebook's GAN (the `tf1-mnist` preset's original) trained in TensorFlow, as the notebook does.

Does the original itself learn digits, or collapse like ganforge's faithful port? This runs the notebook's
procedure with TensorFlow ops: its variables and initialisers (truncated normal 0.02 for D, 0.1 with
biases 0.1 for G), its layers (see tf1_equivalence.py, which checks that ganforge computes the same
forward pass), sigmoid cross-entropy, TF1's Adam defaults (lr 1e-3, beta1 0.9, beta2 0.999, epsilon
1e-8, written out below as tf.train.AdamOptimizer computes it), batch 16, images in [0, 1] as
`input_data.read_data_sets` gives them (the first 55,000 training images, reshuffled every epoch), noise
from N(-1, 1), and per iteration one D update then one G update on the same noise batch.

Written from the notebook's procedure, not copied from it. Run with the TF venv's Python (see run.sh):

    python tf1_notebook.py TRAIN_IMAGES_IDX OUT_DIR --iterations 3000 --samples 2000

Writes OUT_DIR/log.jsonl (losses every 100 iterations), OUT_DIR/samples.npy (uint8, N x 28 x 28, the
generator's output clipped to the data's [0, 1]) and OUT_DIR/grid.png (the first 16 samples); evaluate
with `ganforge eval OUT_DIR/samples.npy --against mnist:test`.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from dcgan_tf2 import read_idx_images
from PIL import Image

BATCH = 16
Z_DIM = 100


def truncated(shape: list[int], std: float) -> tf.Variable:
    # tf.truncated_normal_initializer: normal, redrawn beyond two standard deviations.
    return tf.Variable(tf.random.truncated_normal(shape, stddev=std))


def constant(shape: list[int], value: float) -> tf.Variable:
    return tf.Variable(tf.fill(shape, value))


def discriminator_vars() -> dict[str, tf.Variable]:
    return {
        "w1": truncated([5, 5, 1, 8], 0.02),
        "b1": constant([8], 0.0),
        "w2": truncated([5, 5, 8, 16], 0.02),
        "b2": constant([16], 0.0),
        "w3": truncated([7 * 7 * 16, 32], 0.02),
        "b3": constant([32], 0.0),
        "w4": truncated([32, 1], 0.02),
        "b4": constant([1], 0.0),
    }


def generator_vars() -> dict[str, tf.Variable]:
    v = {}
    for i, (c_in, c_out) in enumerate([(25, 256), (256, 128), (128, 64), (64, 1)], start=1):
        v[f"w{i}"] = truncated([5, 5, c_out, c_in], 0.1)  # conv2d_transpose kernels are (h, w, out, in)
        v[f"b{i}"] = constant([c_out], 0.1)
        if i < 4:  # tf.contrib.layers.batch_norm(center=True, scale=True): beta 0, gamma 1
            v[f"beta{i}"] = constant([c_out], 0.0)
            v[f"gamma{i}"] = constant([c_out], 1.0)
    return v


def discriminate(v: dict[str, tf.Variable], x: tf.Tensor) -> tf.Tensor:
    h = x
    for i in (1, 2):
        h = tf.nn.relu(tf.nn.conv2d(h, v[f"w{i}"], 1, "SAME") + v[f"b{i}"])
        h = tf.nn.avg_pool2d(h, 2, 2, "SAME")
    h = tf.nn.relu(tf.reshape(h, [-1, 7 * 7 * 16]) @ v["w3"] + v["b3"])
    return h @ v["w4"] + v["b4"]


def generate(v: dict[str, tf.Variable], z: tf.Tensor) -> tf.Tensor:
    n = BATCH  # the notebook builds its generator for a fixed batch size
    h = tf.nn.relu(tf.reshape(z, [n, 2, 2, 25]))
    for i, (size, channels) in enumerate([(3, 256), (6, 128), (12, 64)], start=1):
        h = tf.nn.conv2d_transpose(h, v[f"w{i}"], [n, size, size, channels], 2, "SAME") + v[f"b{i}"]
        mean, var = tf.nn.moments(h, axes=[0, 1, 2])  # is_training=True: batch statistics, always
        h = tf.nn.relu(tf.nn.batch_normalization(h, mean, var, v[f"beta{i}"], v[f"gamma{i}"], 1e-3))
    h = tf.nn.conv2d_transpose(h, v["w4"], [n, 28, 28, 1], 2, "VALID") + v["b4"]
    return tf.nn.tanh(h)


class Adam:
    """tf.train.AdamOptimizer's update with its defaults (lr 1e-3, betas 0.9/0.999, epsilon 1e-8)."""

    def __init__(self, variables: list[tf.Variable], lr: float = 1e-3) -> None:
        self.vars, self.lr = variables, lr
        self.m = [tf.Variable(tf.zeros_like(x)) for x in variables]
        self.v = [tf.Variable(tf.zeros_like(x)) for x in variables]
        self.t = tf.Variable(0.0)

    def apply(self, grads: list[tf.Tensor]) -> None:
        self.t.assign_add(1.0)
        step = self.lr * tf.sqrt(1 - 0.999**self.t) / (1 - 0.9**self.t)
        for x, g, m, v in zip(self.vars, grads, self.m, self.v, strict=True):
            m.assign(0.9 * m + 0.1 * g)
            v.assign(0.999 * v + 0.001 * g * g)
            x.assign_sub(step * m / (tf.sqrt(v) + 1e-8))


def bce(logits: tf.Tensor, label: float) -> tf.Tensor:
    labels = tf.fill(tf.shape(logits), label)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def train(images: np.ndarray, iterations: int, rng: np.random.Generator, log_path: Path) -> dict:
    """The notebook's loop; returns the generator's variables."""
    d, g = discriminator_vars(), generator_vars()
    d_list, g_list = list(d.values()), list(g.values())
    opt_d, opt_g = Adam(d_list), Adam(g_list)

    @tf.function
    def d_update(x: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = bce(discriminate(d, x), 1.0) + bce(discriminate(d, generate(g, z)), 0.0)
        opt_d.apply(tape.gradient(loss, d_list))
        return loss

    @tf.function
    def g_update(z: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = bce(discriminate(d, generate(g, z)), 1.0)
        opt_g.apply(tape.gradient(loss, g_list))
        return loss

    order, cursor = rng.permutation(len(images)), 0
    start = time.perf_counter()
    with open(log_path, "w") as log:
        for i in range(1, iterations + 1):
            if cursor + BATCH > len(order):  # next_batch reshuffles at the end of each epoch
                order, cursor = rng.permutation(len(images)), 0
            x = images[order[cursor : cursor + BATCH]]
            cursor += BATCH
            z = rng.normal(-1, 1, size=(BATCH, Z_DIM)).astype(np.float32)
            d_loss, g_loss = d_update(x, z), g_update(z)
            if i % 100 == 0 or i == iterations:
                seconds = round(time.perf_counter() - start, 1)
                line = {"iteration": i, "d_loss": float(d_loss), "g_loss": float(g_loss), "seconds": seconds}
                log.write(json.dumps(line) + "\n")
                log.flush()
    return g


def write_samples(g: dict, n: int, rng: np.random.Generator, out: Path) -> np.ndarray:
    """n samples as uint8 (clipped to the data's [0, 1]) in samples.npy, the first 16 as grid.png."""
    noise = [rng.normal(-1, 1, (BATCH, Z_DIM)).astype(np.float32) for _ in range(-(-n // BATCH))]
    images = np.concatenate([generate(g, z) for z in noise])[:n, :, :, 0]
    pixels = (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
    np.save(out / "samples.npy", pixels)
    grid = pixels[:16].reshape(4, 4, 28, 28).transpose(0, 2, 1, 3).reshape(112, 112)
    Image.fromarray(grid).resize((224, 224), Image.NEAREST).save(out / "grid.png")
    return pixels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("images")
    parser.add_argument("out")
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tf.random.set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images = read_idx_images(args.images)[:55000, :, :, None].astype(np.float32) / 255.0
    start = time.perf_counter()
    g = train(images, args.iterations, rng, out / "log.jsonl")
    seconds = time.perf_counter() - start
    pixels = write_samples(g, args.samples, rng, out)
    spread = pixels.astype(np.float32).std(axis=0).mean()
    print(f"{args.iterations} iterations in {seconds:.0f} s; per-pixel std across samples {spread:.1f}")


if __name__ == "__main__":
    main()
