import pytest
import torch

from ganforge.errors import UserError
from ganforge.metrics.extractors import get_extractor

pytest.importorskip("efficientnet_lite_pytorch")


def test_efficientnet_lite0_features_for_any_size_rgb_or_grey():
    extractor = get_extractor("efficientnet-lite0")
    g = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (3, 3, 64, 64), generator=g, dtype=torch.uint8)
    features, probs = extractor.run(rgb)
    assert features.shape == (3, 1280) and features.dtype == torch.float64 and probs is None
    again, _ = extractor.run(rgb)
    assert torch.equal(features, again)  # the resizer and network are deterministic
    grey, _ = extractor.run(rgb[:, :1])
    same_grey, _ = extractor.run(rgb[:, :1].expand(-1, 3, -1, -1).contiguous())
    assert torch.allclose(grey, same_grey)  # grayscale is repeated to RGB
    small, _ = extractor.run(torch.nn.functional.interpolate(rgb.float(), size=32).byte())
    assert small.shape == (3, 1280)
    assert "bilinear antialias to 224x224" in extractor.provenance["resizer"]
    assert len(extractor.provenance["weights_sha256"]) == 64
    with pytest.raises(
        UserError, match=r"takes RGB or grayscale images of any size, got images shaped \(2, 16, 16\)"
    ):
        extractor.run(torch.zeros(2, 2, 16, 16, dtype=torch.uint8))


def test_the_batch_size_does_not_change_the_features():
    extractor = get_extractor("efficientnet-lite0")
    assert extractor.batch_size == 2  # small batches are the fast ones on a CPU (docs/performance.md)
    rgb = torch.randint(0, 256, (5, 3, 32, 32), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    features, _ = extractor.run(rgb)
    together, _ = extractor.run(rgb, batch_size=5)
    assert torch.allclose(features, together, rtol=1e-4, atol=1e-5)
