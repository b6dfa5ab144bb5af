"""Distances between a generated and a reference set of features, streaming where it matters.

* Fréchet distance (FD) between Gaussians fitted to the two feature sets. Named after its extractor
  ("FD-mnist-cnn"), never "FID": it is not comparable with Inception FID.
* KID: the unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, mean ± std over
  random subsets (Bińkowski et al. 2018).
* Precision / recall (Kynkäänniemi et al. 2019) and density / coverage (Naeem et al. 2020) from
  k-nearest-neighbour balls, k = 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class FeatureStats:
    """Running count, sum and sum of outer products of features, in float64 (streamed over batches)."""

    n: int
    total: torch.Tensor
    outer: torch.Tensor

    @classmethod
    def empty(cls, dim: int) -> FeatureStats:
        """No features yet."""
        return cls(0, torch.zeros(dim, dtype=torch.float64), torch.zeros(dim, dim, dtype=torch.float64))

    def update(self, features: torch.Tensor) -> None:
        """Add a batch (N, dim)."""
        f = features.double()
        self.n += len(f)
        self.total += f.sum(0)
        self.outer += f.T @ f

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased covariance."""
        if self.n < 2:
            raise ValueError("need at least 2 samples for a covariance")
        mean = self.total / self.n
        cov = (self.outer - self.n * torch.outer(mean, mean)) / (self.n - 1)
        return mean, cov

    def to_dict(self) -> dict[str, torch.Tensor | int]:
        """Plain tensors and ints (for a cache file loaded with weights_only)."""
        return {"n": self.n, "total": self.total, "outer": self.outer}


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    """|μa − μb|² + tr(Σa) + tr(Σb) − 2 tr((Σa^½ Σb Σa^½)^½), with symmetric eigendecompositions."""
    mu_a, cov_a = a.mean_cov()
    mu_b, cov_b = b.mean_cov()
    root_a = _psd_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return float(value.clamp(min=0))


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def kid(
    x: torch.Tensor, y: torch.Tensor, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float]:
    """Kernel inception distance (mean, std over ``subsets`` random subsets of ``subset_size``)."""
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        xs = x[torch.randperm(len(x), generator=rng)[:m]].double()
        ys = y[torch.randperm(len(y), generator=rng)[:m]].double()
        values.append(mmd2_unbiased(xs, ys))
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(t) > 1 else 0.0


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² with the cubic polynomial kernel (computed in float64)."""
    x, y = x.double(), y.double()
    d, m = x.shape[1], len(x)
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    dist = torch.cdist(x, x)
    return dist.kthvalue(k + 1, dim=1).values  # the 1st "neighbour" is the point itself, at 0


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` features."""
    real, fake = real.double(), fake.double()
    r_real, r_fake = knn_radii(real, k), knn_radii(fake, k)
    d = torch.cdist(real, fake)  # (n_real, n_fake)
    inside_real = d <= r_real[:, None]  # fake j inside the ball of real i
    return {
        "precision": float(inside_real.any(0).double().mean()),
        "recall": float((d <= r_fake[None, :]).any(1).double().mean()),
        "density": int(inside_real.sum()) / (k * fake.shape[0]),
        "coverage": float((d.min(1).values <= r_real).double().mean()),
    }


HELDOUT_MAX = 5000  # held-out images that set the near-copy threshold (a percentile needs no more)


def nearest_distances(x: torch.Tensor, pool: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """Distance from each row of ``x`` to its nearest row of ``pool`` (chunked: pool may be 60k)."""
    pool = pool.float()
    return torch.cat([torch.cdist(part.float(), pool).min(1).values for part in x.split(chunk)]).double()


def near_copies(generated: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor) -> dict[str, float]:
    """Memorisation: how close generated samples sit to their nearest training image, vs held-out reals.

    A generated sample is a near-copy when its nearest-training-image distance is below the 1st
    percentile of the same distance for held-out real images; about 1% is what a generator that does
    not copy gets, 100% is a copying machine.
    """
    gen_nn = nearest_distances(generated, train)
    real_nn = nearest_distances(heldout[:HELDOUT_MAX], train)
    threshold = torch.quantile(real_nn, 0.01)
    return {
        "near_copies": float((gen_nn < threshold).double().mean()),
        "nn_train_distance_ratio": float(gen_nn.median() / real_nn.median()),
    }
