"""Every loss x scheme, and each regulariser, for a few hundred MNIST steps: does anything go NaN?

    python benchmarks/loss_sweep.py [--steps 300] [--device cuda]

Uses the keras-gan-mlp networks (fast on a CPU). Prints one row per setting: final D/G loss (mean over
the last 50 steps), mean D(x) and D(G(z)) (sigmoid for BCE-family losses, raw for the others),
whether any loss was non-finite, and seconds.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from ganforge import GAN, MetricsLogger, build_models, get_preset, load_data

SETTINGS = [
    {"loss": loss, "scheme": scheme}
    for loss in ("bce", "minimax", "lsgan", "hinge", "wgan-gp")
    for scheme in ("simultaneous", "alternating")
    if not (loss == "wgan-gp" and scheme == "simultaneous")  # the penalty needs the alternating scheme
] + [
    {"loss": "wgan-gp", "d_steps": 5},
    {"loss": "bce", "r1_gamma": 10.0, "r1_every": 4},
    {"loss": "bce", "spectral_norm": True},
    {"loss": "hinge", "spectral_norm": True, "ema_decay": 0.999},
    {"loss": "bce", "real_label_low": 0.9, "real_label_high": 0.9},
    {"loss": "bce", "d_separate_batches": True, "real_label_low": 0.8, "fake_label_high": 0.2},
]


def run(setting: dict, steps: int, data, device: str = "cpu") -> dict:
    cfg = get_preset("keras-gan-mlp")
    cfg.train.d_separate_batches = cfg.train.d_half_batch = False
    cfg.train.batch_size = 64
    cfg.model.spectral_norm = setting.get("spectral_norm", False)
    for key, value in setting.items():
        if key != "spectral_norm":
            setattr(cfg.train, key, value)
    torch.manual_seed(0)
    g, d = build_models(cfg.model, cfg.data)
    gan = GAN(g, d, config=cfg.train, latent_dim=cfg.model.latent_dim, device=device)
    logger = MetricsLogger(None, every=50)
    start = time.perf_counter()
    gan.fit(data, steps=steps, callbacks=[logger])
    last = logger.records[-1]
    finite = all(math.isfinite(r[k]) for r in logger.records for k in ("d_loss", "g_loss"))
    return {**last, "finite": finite, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    data = load_data(get_preset("keras-gan-mlp").data)
    print(f"| setting | D loss | G loss | D(x) | D(G(z)) | finite | s ({args.steps} steps) |")
    print("|---|---|---|---|---|---|---|")
    for setting in SETTINGS:
        r = run(setting, args.steps, data, args.device)
        name = ", ".join(f"{k}={v}" for k, v in setting.items())
        print(
            f"| {name} | {r['d_loss']:.3f} | {r['g_loss']:.3f} | {r['d_real']:.2f} | {r['d_fake']:.2f} "
            f"| {'yes' if r['finite'] else 'NO'} | {r['seconds']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
