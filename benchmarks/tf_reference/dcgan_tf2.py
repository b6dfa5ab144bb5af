"""The TensorFlow 2 DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan), as written, for comparison.

Runs in its own virtual environment with tensorflow-cpu (never a ganforge dependency); see
benchmarks/tf_reference/run.sh. Reads MNIST from a local idx file instead of downloading it, and writes
each epoch's 4x4 fixed-seed grid as a PNG plus one JSON line per epoch (seconds, images/s, losses).

    python dcgan_tf2.py TRAIN_IMAGES_IDX OUT_DIR --epochs 5 [--seed 0]
"""

import argparse
import gzip
import json
import os
import time

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

BATCH_SIZE = 256
NOISE_DIM = 100


def read_idx_images(path):
    with open(path, "rb") as f:
        raw = f.read()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    n, rows, cols = np.frombuffer(raw[4:16], ">u4")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows, cols)


def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Dense(7 * 7 * 256, use_bias=False, input_shape=(100,)))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Reshape((7, 7, 256)))
    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh")
    )
    return model


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same", input_shape=[28, 28, 1]))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


def make_train_step(generator, discriminator, batch_size=BATCH_SIZE):
    """The tutorial's losses, optimisers and ``train_step`` (a tf.function), for these two models."""
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = tf.keras.optimizers.Adam(1e-4)
    discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        discriminator_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        return gen_loss, disc_loss

    return train_step


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("images")
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--samples", type=int, default=0, help="also save N generated images per epoch (.npy)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    tf.random.set_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    train_images = read_idx_images(args.images).reshape(-1, 28, 28, 1).astype("float32")
    train_images = (train_images - 127.5) / 127.5
    dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(60000).batch(BATCH_SIZE)

    generator, discriminator = make_generator_model(), make_discriminator_model()
    train_step = make_train_step(generator, discriminator)
    seed = tf.random.normal([16, NOISE_DIM])

    outside_training = 0.0  # seconds spent on grids and samples, left out of the training clock
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        for image_batch in dataset:
            g_loss, d_loss = train_step(image_batch)
        seconds = time.perf_counter() - start
        side = time.perf_counter()
        if args.samples:
            noise = tf.random.normal([args.samples, NOISE_DIM])
            fakes = generator(noise, training=False).numpy()[..., 0] * 127.5 + 127.5
            np.save(
                os.path.join(args.out, f"samples_{epoch:04d}.npy"),
                np.clip(np.rint(fakes), 0, 255).astype(np.uint8),
            )
        grid = generator(seed, training=False).numpy()[..., 0] * 127.5 + 127.5
        tiles = np.full((4 * 30 + 2, 4 * 30 + 2), 255, np.uint8)
        for i, img in enumerate(np.clip(np.rint(grid), 0, 255).astype(np.uint8)):
            r, c = divmod(i, 4)
            tiles[2 + r * 30 : 2 + r * 30 + 28, 2 + c * 30 : 2 + c * 30 + 28] = img
        write_pgm(os.path.join(args.out, f"epoch_{epoch:04d}.pgm"), tiles)
        outside_training += time.perf_counter() - side
        record = {
            "epoch": epoch,
            "seconds": seconds,
            "train_clock": time.perf_counter() - started - outside_training,
            "images_per_sec": len(train_images) / seconds,
            "g_loss": float(g_loss),
            "d_loss": float(d_loss),
        }
        print(json.dumps(record), flush=True)


def write_pgm(path, array):
    # PGM needs no imaging library in the TF environment; ganforge's side converts it to PNG.
    with open(path, "wb") as f:
        f.write(f"P5 {array.shape[1]} {array.shape[0]} 255\n".encode() + array.tobytes())


if __name__ == "__main__":
    main()
