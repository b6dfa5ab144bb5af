"""Does ganforge's tf-dcgan port compute what the Keras tutorial models compute?

Run with the TF virtual environment's Python, with ganforge's src/ on the path (see run.sh):

    python equivalence.py

Builds the tutorial's Keras generator and discriminator, copies their weights into ganforge's
TFDCGANGenerator / TFDCGANDiscriminator, and compares (1) forward outputs in inference mode and
(2) the weights after one simultaneous training step on the same batch and noise (dropout off in
both, since the two libraries draw different masks). Prints the largest differences.
"""

import numpy as np
import tensorflow as tf
import torch
from dcgan_tf2 import make_discriminator_model, make_generator_model

from ganforge.config import OptimConfig, TrainConfig
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator
from ganforge.train.trainer import Trainer


def conv_kernel(k):  # Keras (kh, kw, in, out) -> torch Conv2d (out, in, kh, kw)
    return torch.tensor(k.transpose(3, 2, 0, 1).copy())


def deconv_kernel(k):  # Keras (kh, kw, out, in) -> torch ConvTranspose2d (in, out, kh, kw)
    return torch.tensor(k.transpose(3, 2, 0, 1).copy())


def copy_generator(keras_g, g):
    dense, bn0, up1, bn1, up2, bn2, up3 = [layer for layer in keras_g.layers if layer.weights]
    with torch.no_grad():
        g.fc.weight.copy_(torch.tensor(dense.kernel.numpy().T))
        for bn, ours in ((bn0, g.bn0), (bn1, g.bn1), (bn2, g.bn2)):
            gamma, beta, mean, var = (w.numpy() for w in bn.weights)
            ours.weight.copy_(torch.tensor(gamma))
            ours.bias.copy_(torch.tensor(beta))
            ours.running_mean.copy_(torch.tensor(mean))
            ours.running_var.copy_(torch.tensor(var))
        for layer, ours in ((up1, g.up1), (up2, g.up2), (up3, g.up3)):
            ours.weight.copy_(deconv_kernel(layer.kernel.numpy()))


def copy_discriminator(keras_d, d):
    conv1, conv2, dense = [layer for layer in keras_d.layers if layer.weights]
    with torch.no_grad():
        for layer, ours in ((conv1, d.conv1), (conv2, d.conv2)):
            ours.weight.copy_(conv_kernel(layer.kernel.numpy()))
            ours.bias.copy_(torch.tensor(layer.bias.numpy()))
        d.fc.weight.copy_(torch.tensor(dense.kernel.numpy().T))
        d.fc.bias.copy_(torch.tensor(dense.bias.numpy()))


def main():
    tf.random.set_seed(0)
    keras_g, keras_d = make_generator_model(), make_discriminator_model()
    for layer in keras_d.layers:
        if isinstance(layer, tf.keras.layers.Dropout):
            layer.rate = 0.0
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator(dropout=0.0)
    copy_generator(keras_g, g)
    copy_discriminator(keras_d, d)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((8, 100)).astype(np.float32)
    x = rng.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)

    g.eval()
    d.eval()
    out_tf = keras_g(z, training=False).numpy()
    out_pt = g(torch.tensor(z)).permute(0, 2, 3, 1).detach().numpy()
    print(f"generator forward (inference): max |diff| = {np.abs(out_tf - out_pt).max():.2e}")
    d_tf = keras_d(x, training=False).numpy()
    d_pt = d(torch.tensor(x).permute(0, 3, 1, 2)).detach().numpy()
    print(f"discriminator forward:         max |diff| = {np.abs(d_tf - d_pt).max():.2e}")

    # One simultaneous training step from identical weights, batch and noise.
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    opt_g, opt_d = tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)
    with tf.GradientTape() as gt, tf.GradientTape() as dt:
        fake = keras_g(z, training=True)
        real_out, fake_out = keras_d(x, training=True), keras_d(fake, training=True)
        g_loss = bce(tf.ones_like(fake_out), fake_out)
        d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
    opt_g.apply_gradients(
        zip(gt.gradient(g_loss, keras_g.trainable_variables), keras_g.trainable_variables, strict=True)
    )
    opt_d.apply_gradients(
        zip(dt.gradient(d_loss, keras_d.trainable_variables), keras_d.trainable_variables, strict=True)
    )

    adam = OptimConfig(lr=1e-4, beta1=0.9, beta2=0.999, eps=1e-7, keras_epsilon=True)  # Keras Adam
    trainer = Trainer(
        g, d, TrainConfig(scheme="simultaneous", g_optim=adam, d_optim=adam), 100, torch.device("cpu")
    )
    trainer.draws.noise = lambda n: torch.tensor(z)
    stats = trainer.step(torch.tensor(x).permute(0, 3, 1, 2))
    print(
        f"losses: TF g {float(g_loss):.6f} d {float(d_loss):.6f} | ganforge g {float(stats['g_loss']):.6f} "
        f"d {float(stats['d_loss']):.6f}"
    )
    after = TFDCGANGenerator()
    copy_generator(keras_g, after)
    for name in ("fc.weight", "up2.weight", "bn1.weight", "bn1.running_mean", "bn1.running_var"):
        diff = (after.state_dict()[name] - g.state_dict()[name]).abs().max().item()
        print(f"after one step, G {name:18s} max |diff| = {diff:.2e}")
    after_d = TFDCGANDiscriminator(dropout=0.0)
    copy_discriminator(keras_d, after_d)
    for name in ("conv1.weight", "conv2.bias", "fc.weight"):
        diff = (after_d.state_dict()[name] - d.state_dict()[name]).abs().max().item()
        print(f"after one step, D {name:18s} max |diff| = {diff:.2e}")


if __name__ == "__main__":
    main()
