"""The loss plot: D and G losses and D's mean outputs against steps, smoothed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganforge.fileio import atomic_path


def smooth(values: np.ndarray, weight: float | None = None) -> np.ndarray:
    """Exponential smoothing with bias correction (TensorBoard's), so the first points are not pulled to 0.

    The default weight averages over about 5% of the points, so short and long runs look alike.
    """
    if weight is None:
        weight = float(np.clip(1 - 20 / max(len(values), 1), 0.0, 0.98))
    out = np.empty_like(values, dtype=np.float64)
    acc = 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1 - weight) * v
        out[i] = acc / (1 - weight ** (i + 1))
    return out


def plot_losses(records: list[dict[str, Any]], out: Path) -> None:
    """Draw ``out`` (PNG): top, D and G losses; bottom, mean D(x) and D(G(z)); raw faint, smoothed solid."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    for axis, keys in ((top, ("d_loss", "g_loss")), (bottom, ("d_real", "d_fake"))):
        for key, colour in zip(keys, ("tab:blue", "tab:orange"), strict=True):
            rows = [r for r in records if key in r]
            if not rows:
                continue
            steps = np.array([r["step"] for r in rows])
            values = np.array([r[key] for r in rows], dtype=np.float64)
            axis.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8)
            axis.plot(steps, smooth(values), color=colour, label=_LABELS[key])
        if axis.get_legend_handles_labels()[0]:  # nothing logged yet: no empty legend (and no warning)
            axis.legend(loc="upper right")
        axis.grid(alpha=0.3)
    top.set_ylabel("loss")
    bottom.set_ylabel("mean D output")
    bottom.set_xlabel("step")
    fig.tight_layout()
    with atomic_path(Path(out)) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


_LABELS = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))"}


def plot_quality(records: list[dict[str, Any]], out: Path) -> None:
    """Draw ``out`` (PNG): the Fréchet distance (log scale) and the classes covered (or, for colour
    data, the SWD) against steps.

    ``records`` are ``{"step": ..., "quality": {metric: value}}`` lines of metrics.jsonl.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in records if "quality" in r]
    if not rows:
        return
    steps = [r["step"] for r in rows]
    fd_key = next(k for k in rows[0]["quality"] if k.startswith("FD-"))
    fig, top = plt.subplots(figsize=(7, 3.5))
    top.plot(steps, [r["quality"][fd_key] for r in rows], "o-", color="tab:blue", label=fd_key)
    top.set_yscale("log")
    top.set_xlabel("step")
    top.set_ylabel(fd_key)
    top.grid(alpha=0.3)
    if "SWD" in rows[0]["quality"] and "classes_covered" not in rows[0]["quality"]:
        # Colour runs: the weight-free SWD beside FD, since a projected D trains on FD's own features.
        right = top.twinx()
        swd = [r["quality"].get("SWD", float("nan")) for r in rows]
        right.plot(steps, swd, "s--", color="tab:orange", label="SWD")
        right.set_yscale("log")
        right.set_ylabel("SWD (Laplacian patches)", color="tab:orange")
    if "classes_covered" in rows[0]["quality"]:
        right = top.twinx()
        right.plot(steps, [r["quality"]["classes_covered"] for r in rows], "s--", color="tab:green")
        right.set_ylabel("classes covered", color="tab:green")
        right.set_ylim(0, max(r["quality"]["classes_covered"] for r in rows) + 1)
    fig.tight_layout()
    with atomic_path(Path(out)) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
