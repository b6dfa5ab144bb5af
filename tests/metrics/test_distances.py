import math

import pytest
import torch

from ganforge.metrics.classes import class_stats
from ganforge.metrics.distances import FeatureStats, frechet_distance, kid, mmd2_unbiased, prdc


def _stats(x):
    s = FeatureStats.empty(x.shape[1])
    for chunk in x.split(7):  # streamed in uneven batches
        s.update(chunk)
    return s


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 3, generator=g, dtype=torch.float64)
    b = torch.randn(200_000, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0]) + 1.0
    # Diagonal covariances: FD = |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2 = 3 + (0 + 1 + 4) = 8.
    assert frechet_distance(_stats(a), _stats(b)) == pytest.approx(8.0, abs=0.05)
    assert frechet_distance(_stats(a), _stats(a)) == pytest.approx(0.0, abs=1e-9)


def test_streaming_stats_equal_the_one_shot_mean_and_covariance():
    x = torch.randn(101, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mean, cov = _stats(x).mean_cov()
    assert torch.allclose(mean, x.mean(0)) and torch.allclose(cov, torch.cov(x.T))


def test_frechet_distance_with_full_covariances_matches_scipy_free_reference():
    # For commuting covariances (both diagonal in one rotated basis) the closed form still holds.
    g = torch.Generator().manual_seed(2)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    za, zb = (torch.randn(300_000, 4, generator=g, dtype=torch.float64) for _ in range(2))
    a = za @ q.T
    b = (zb * torch.tensor([2.0, 1.0, 1.0, 0.5])) @ q.T
    assert frechet_distance(_stats(a), _stats(b)) == pytest.approx(1 + 0 + 0 + 0.25, abs=0.05)


def test_kid_is_the_unbiased_mmd_and_near_zero_for_one_distribution():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(60, 4, generator=g), torch.randn(60, 4, generator=g) + 0.5
    d = 4
    k = lambda a, b: (a.double() @ b.double().T / d + 1) ** 3  # noqa: E731
    m = 60
    expected = (
        (k(x, x).sum() - k(x, x).trace()) / (m * (m - 1))
        + (k(y, y).sum() - k(y, y).trace()) / (m * (m - 1))
        - 2 * k(x, y).mean()
    )
    assert mmd2_unbiased(x, y) == pytest.approx(float(expected), rel=1e-9)
    same = torch.randn(4000, 4, generator=g)
    mean, std = kid(same[:2000], same[2000:], subset_size=500, subsets=20)
    assert abs(mean) < 3 * std / math.sqrt(20) + 1e-3
    far_mean, _ = kid(same[:2000], same[2000:] + 1.0, subset_size=500, subsets=20)
    assert far_mean > 100 * abs(mean)


def test_precision_recall_density_coverage_on_known_layouts():
    g = torch.Generator().manual_seed(4)
    real = torch.randn(1000, 2, generator=g)
    # The very same points: each real ball holds its centre and its k = 5 neighbours, so density is 6/5.
    assert prdc(real, real.clone()) == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "density": 1.2, "coverage": 1.0}, abs=1e-9
    )
    # A fresh sample of the same distribution: density and coverage near 1 and 1 - 2^-5 (Naeem et al.).
    fresh = prdc(real, torch.randn(1000, 2, generator=g))
    assert 0.9 < fresh["density"] < 1.1 and 0.93 < fresh["coverage"] < 0.99
    far = prdc(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    # Mode dropping: the fakes are the real points of one half-plane only.
    half = real[real[:, 0] > 0]
    dropped = prdc(real, half)
    assert dropped["precision"] == 1.0 and 0.4 < dropped["coverage"] < 0.6 and dropped["recall"] < 0.7


def test_class_statistics():
    confident = torch.eye(10).repeat(10, 1)  # 100 samples, every class 10 times, certain
    stats = class_stats(
        confident, real_labels=torch.arange(10).repeat(5), requested=torch.arange(10).repeat(10)
    )
    assert stats["classes_covered"] == 10 and stats["classifier_score"] == pytest.approx(10.0)
    assert stats["class_kl_to_real"] == pytest.approx(0.0) and stats["conditional_accuracy"] == 1.0
    one = class_stats(torch.eye(10)[[3] * 50], real_labels=torch.arange(10))
    assert one["classes_covered"] == 1 and one["classifier_score"] == pytest.approx(1.0)
    assert one["class_kl_to_real"] == pytest.approx(math.log(10))


def test_frechet_distance_agrees_with_a_scipy_reference():
    linalg = pytest.importorskip("scipy.linalg")
    g = torch.Generator().manual_seed(5)
    mix = torch.randn(16, 16, generator=g, dtype=torch.float64)
    a = torch.randn(3000, 16, generator=g, dtype=torch.float64) @ mix
    b = torch.randn(3000, 16, generator=g, dtype=torch.float64) @ mix.T * 0.7 + 0.3
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    cov_a, cov_b = torch.cov(a.T).numpy(), torch.cov(b.T).numpy()
    covmean = linalg.sqrtm(cov_a @ cov_b).real
    reference = ((mu_a - mu_b) ** 2).sum() + (cov_a + cov_b - 2 * covmean).trace()
    assert frechet_distance(_stats(a), _stats(b)) == pytest.approx(float(reference), rel=1e-6)
