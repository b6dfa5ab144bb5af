"""Class-level statistics of generated samples, from a domain classifier's probabilities."""

from __future__ import annotations

import torch

COVERED_SHARE = 0.02  # a class counts as covered when at least 2% of samples fall in it


def class_stats(
    probs: torch.Tensor, real_labels: torch.Tensor | None = None, requested: torch.Tensor | None = None
) -> dict[str, object]:
    """Histogram, coverage, KL to the real class distribution, classifier score, conditional accuracy.

    Args:
        probs: (N, classes) class probabilities of the generated samples.
        real_labels: the reference set's labels, for the KL to its class distribution.
        requested: for a conditional generator, the label each sample was asked for.
    """
    probs = probs.double()
    classes = probs.shape[1]
    predicted = probs.argmax(1)
    share = torch.bincount(predicted, minlength=classes).double() / len(predicted)
    marginal = probs.mean(0)
    eps = 1e-12
    # exp E_x[KL(p(y|x) || p(y))]: the "Inception score" computed with the domain classifier.
    kl_each = (probs * ((probs + eps).log() - (marginal + eps).log())).sum(1)
    out: dict[str, object] = {
        "class_histogram": [round(float(s), 4) for s in share],
        "classes_covered": int((share >= COVERED_SHARE).sum()),
        "classifier_score": float(kl_each.mean().exp()),
    }
    if real_labels is not None:
        # KL(generated || real): finite whenever the real set has every class, 0 for a perfect match.
        real = torch.bincount(real_labels, minlength=classes).double() / len(real_labels)
        terms = torch.where(share > 0, share * (share.clamp(min=eps).log() - real.clamp(min=eps).log()), 0.0)
        out["class_kl_to_real"] = float(terms.sum())
    if requested is not None:
        out["conditional_accuracy"] = float((predicted == requested).double().mean())
    return out


def mode_stats(probs: torch.Tensor) -> dict[str, object]:
    """Mode coverage as the mode-collapse benchmarks report it (Stacked MNIST: 1000 modes).

    Each sample counts for its most likely mode; ``modes_covered`` is how many modes got at least one
    sample, ``mode_kl_to_uniform`` is KL(sample histogram || uniform) in nats (0 for a perfectly even
    spread; about (modes - 1) / (2 N) from sampling noise alone with N samples).
    """
    modes = probs.shape[1]
    counts = torch.bincount(probs.argmax(1), minlength=modes).double()
    share = counts / counts.sum()
    kl = torch.where(share > 0, share * (share.clamp(min=1e-300) * modes).log(), 0.0).sum()
    return {"modes_covered": int((counts > 0).sum()), "modes_total": modes, "mode_kl_to_uniform": float(kl)}
