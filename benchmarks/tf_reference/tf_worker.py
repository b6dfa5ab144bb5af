"""The TF2 tutorial's train step as a timing worker for side_by_side.py (runs in the TensorFlow venv).

Prints "ready" after warm-up, then for every line "N" on stdin runs N steps and prints their seconds.
"""

import sys
import time

import tensorflow as tf
from dcgan_tf2 import BATCH_SIZE, make_discriminator_model, make_generator_model, make_train_step


def main():
    tf.random.set_seed(0)
    images = tf.random.uniform([BATCH_SIZE, 28, 28, 1], -1.0, 1.0)
    train_step = make_train_step(make_generator_model(), make_discriminator_model())
    for _ in range(3):
        train_step(images)
    print("ready", flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        for _ in range(int(line)):
            g_loss, _ = train_step(images)
        float(g_loss)  # wait for the last step
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
