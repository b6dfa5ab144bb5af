"""Does ganforge's tf1-cnn model compute what the TF1 notebook's graph computes?

Run with the TF virtual environment's Python, with ganforge's src/ on the path (see run.sh):

    python tf1_equivalence.py

Runs the notebook's generator and discriminator as tf1_notebook.py writes them in TF ops
(``tf.nn.conv2d_transpose`` with the notebook's explicit output shapes and "SAME"/"VALID" padding,
batch-statistics BatchNorm with epsilon 1e-3, "SAME" convolutions and 2x2 average pooling) with
ganforge's initial weights, feeds both the same noise and images, and prints the largest differences.
"""

import numpy as np
import tensorflow as tf
import torch
from tf1_notebook import BATCH, discriminate, generate

from ganforge.models.tf1_cnn import TF1Discriminator, TF1Generator

N = BATCH


def tf_weights(g: TF1Generator, d: TF1Discriminator) -> tuple[dict, dict]:
    """ganforge's weights laid out as tf1_notebook.py's variables (its graph is the one compared)."""

    def t(x: torch.Tensor) -> tf.Tensor:
        return tf.constant(x.detach().numpy())

    # torch ConvTranspose2d (in, out, kh, kw) -> TF (kh, kw, out, in); Conv2d (out, in, ..) -> (.., in, out).
    gv = {}
    for i, up in enumerate((g.up1, g.up2, g.up3, g.up4), start=1):
        gv[f"w{i}"], gv[f"b{i}"] = t(up.weight.permute(2, 3, 1, 0)), t(up.bias)
    for i, bn in enumerate((g.bn1, g.bn2, g.bn3), start=1):
        gv[f"gamma{i}"], gv[f"beta{i}"] = t(bn.weight), t(bn.bias)
    dv = {"w1": t(d.conv1.weight.permute(2, 3, 1, 0)), "b1": t(d.conv1.bias)}
    dv |= {"w2": t(d.conv2.weight.permute(2, 3, 1, 0)), "b2": t(d.conv2.bias)}
    # The notebook flattens (7, 7, 16) channels-last; ganforge flattens channels-first: reorder FC1's rows.
    dv["w3"] = t(d.fc1.weight.view(32, 16, 7, 7).permute(2, 3, 1, 0).reshape(784, 32))
    dv["b3"] = t(d.fc1.bias)
    dv["w4"], dv["b4"] = t(d.fc2.weight.T), t(d.fc2.bias)
    return gv, dv


def main() -> None:
    torch.manual_seed(0)
    g, d = TF1Generator(), TF1Discriminator()
    z = torch.randn(N, 100)
    with torch.no_grad():
        images = g(z)
        logits = d(images)
    nhwc = images.permute(0, 2, 3, 1).numpy()
    gv, dv = tf_weights(g, d)
    # ganforge draws z ~ N(0, 1) and shifts it inside; the notebook draws N(-1, 1).
    g_diff = np.abs(generate(gv, z.numpy() - 1.0).numpy() - nhwc).max()
    d_diff = np.abs(discriminate(dv, tf.constant(nhwc)).numpy() - logits.numpy()).max()
    print(f"generator: max |ganforge - notebook graph| = {g_diff:.2e} (images std {nhwc.std():.3f})")
    print(f"discriminator: max |ganforge - notebook graph| = {d_diff:.2e} (logits std {logits.std():.2e})")


if __name__ == "__main__":
    main()
