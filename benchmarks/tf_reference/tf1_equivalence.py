"""Does ganforge's tf1-cnn model compute what the TF1 notebook's graph computes?

Run with the TF virtual environment's Python, with ganforge's src/ on the path (see run.sh):

    python tf1_equivalence.py

Rebuilds the notebook's generator and discriminator from TF ops (``tf.nn.conv2d_transpose`` with the
notebook's explicit output shapes and "SAME"/"VALID" padding, batch-statistics BatchNorm with epsilon
1e-3, "SAME" convolutions and 2x2 average pooling), feeds them ganforge's initial weights and the same
noise and images, and prints the largest differences.
"""

import numpy as np
import tensorflow as tf
import torch

from ganforge.models.tf1_cnn import TF1Discriminator, TF1Generator

N = 16


def kernel(m: torch.nn.Module) -> tf.Tensor:
    # torch ConvTranspose2d (in, out, kh, kw) -> TF (kh, kw, out, in);
    # torch Conv2d (out, in, kh, kw) -> TF (kh, kw, in, out).
    return tf.constant(m.weight.detach().permute(2, 3, 1, 0).numpy())


def bias(m: torch.nn.Module) -> tf.Tensor:
    return tf.constant(m.bias.detach().numpy())


def batch_norm(x: tf.Tensor) -> tf.Tensor:
    mean, var = tf.nn.moments(x, axes=[0, 1, 2])  # tf.contrib.layers.batch_norm, is_training=True
    return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


def notebook_generator(g: TF1Generator, z: np.ndarray) -> np.ndarray:
    h = tf.nn.relu(tf.reshape(z - 1.0, [N, 2, 2, 25]))  # z ~ np.random.normal(-1, 1)
    for up, size in ((g.up1, 3), (g.up2, 6), (g.up3, 12)):
        channels = up.weight.shape[1]
        h = tf.nn.conv2d_transpose(h, kernel(up), [N, size, size, channels], [1, 2, 2, 1], "SAME")
        h = tf.nn.relu(batch_norm(h + bias(up)))
    h = tf.nn.conv2d_transpose(h, kernel(g.up4), [N, 28, 28, 1], [1, 2, 2, 1], "VALID")
    return tf.nn.tanh(h + bias(g.up4)).numpy()


def notebook_discriminator(d: TF1Discriminator, x: np.ndarray) -> np.ndarray:
    h = tf.constant(x)
    for conv in (d.conv1, d.conv2):
        h = tf.nn.relu(tf.nn.conv2d(h, kernel(conv), [1, 1, 1, 1], "SAME") + bias(conv))
        h = tf.nn.avg_pool2d(h, 2, 2, "SAME")
    # The notebook flattens (7, 7, 16) channels-last; ganforge flattens channels-first: reorder FC1's rows.
    w1 = d.fc1.weight.detach().view(32, 16, 7, 7).permute(2, 3, 1, 0).reshape(784, 32).numpy()
    h = tf.nn.relu(tf.matmul(tf.reshape(h, [N, 784]), w1) + bias(d.fc1))
    return (tf.matmul(h, d.fc2.weight.detach().numpy().T) + bias(d.fc2)).numpy()


def main() -> None:
    torch.manual_seed(0)
    g, d = TF1Generator(), TF1Discriminator()
    z = torch.randn(N, 100)
    with torch.no_grad():
        images = g(z)
        logits = d(images)
    nhwc = images.permute(0, 2, 3, 1).numpy()
    g_diff = np.abs(notebook_generator(g, z.numpy()) - nhwc).max()
    d_diff = np.abs(notebook_discriminator(d, nhwc) - logits.numpy()).max()
    print(f"generator: max |ganforge - notebook graph| = {g_diff:.2e} (images std {nhwc.std():.3f})")
    print(f"discriminator: max |ganforge - notebook graph| = {d_diff:.2e} (logits std {logits.std():.2e})")


if __name__ == "__main__":
    main()
