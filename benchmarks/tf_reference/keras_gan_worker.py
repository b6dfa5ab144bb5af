"""The Keras-GAN MLP GAN's training iteration, in Keras 2, as a timing worker for side_by_side.py.

Runs in the TensorFlow venv with ``tf-keras`` (Keras 2): the original relies on Keras 2's compile-time
``trainable`` (D compiled trainable, then frozen inside the compiled combined model), which Keras 3 no
longer honours. Written here from the procedure, not copied: D Dense 512/256 + LeakyReLU 0.2 -> sigmoid;
G Dense 256/512/1024 + LeakyReLU 0.2 + BatchNorm(momentum 0.8) -> 784 tanh; Adam(2e-4, beta1 0.5) for
both; per iteration D.train_on_batch on half a batch of real images (targets 1), then on half a batch
of G.predict fakes (targets 0), then combined.train_on_batch on a full batch of noise (targets 1).

Prints "ready" after warm-up, then for every line "N" on stdin runs N iterations and prints their seconds.
"""

import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tf_keras as keras
from tf_keras import layers

BATCH, LATENT, SHAPE = 32, 100, (28, 28, 1)


def discriminator() -> keras.Model:
    return keras.Sequential(
        [
            layers.Flatten(input_shape=SHAPE),
            layers.Dense(512),
            layers.LeakyReLU(0.2),
            layers.Dense(256),
            layers.LeakyReLU(0.2),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def generator() -> keras.Model:
    stack = []
    for width in (256, 512, 1024):
        stack += [layers.Dense(width), layers.LeakyReLU(0.2), layers.BatchNormalization(momentum=0.8)]
    stack = [layers.InputLayer(input_shape=(LATENT,)), *stack, layers.Dense(784, activation="tanh")]
    return keras.Sequential([*stack, layers.Reshape(SHAPE)])


def build() -> tuple[keras.Model, keras.Model, keras.Model]:
    d = discriminator()
    d.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4, 0.5), metrics=["accuracy"])
    g = generator()
    z = keras.Input(shape=(LATENT,))
    d.trainable = False  # frozen in the combined model only (Keras 2 reads it at compile time)
    combined = keras.Model(z, d(g(z)))
    combined.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4, 0.5))
    return g, d, combined


def main() -> None:
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (60000, *SHAPE)).astype("float32")
    g, d, combined = build()
    half = BATCH // 2

    def iteration() -> None:
        real = images[rng.integers(0, len(images), half)]
        fake = g.predict(rng.normal(0, 1, (half, LATENT)), verbose=0)
        d.train_on_batch(real, np.ones((half, 1)))
        d.train_on_batch(fake, np.zeros((half, 1)))
        combined.train_on_batch(rng.normal(0, 1, (BATCH, LATENT)), np.ones((BATCH, 1)))

    for _ in range(5):
        iteration()
    print("ready", flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        for _ in range(int(line)):
            iteration()
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
