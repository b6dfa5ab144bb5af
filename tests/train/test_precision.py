import copy

import pytest
import torch

from ganforge.config import TrainConfig
from ganforge.errors import UserError
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator
from ganforge.train import precision
from ganforge.train.trainer import Trainer

CPU = torch.device("cpu")


def test_names_resolve_to_autocast_dtypes(monkeypatch):
    assert precision.resolve_precision("fp32", CPU) is None
    assert precision.resolve_precision("bf16", CPU) is torch.bfloat16
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.resolve_precision("auto", CPU) is None
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert precision.resolve_precision("auto", CPU) is torch.bfloat16
    with pytest.raises(UserError, match="unknown precision 'fp16'"):
        precision.resolve_precision("fp16", CPU)


def _one_step(prec: str, channels_last: bool = True) -> Trainer:
    torch.manual_seed(0)
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator(dropout=0.0)
    cfg = TrainConfig(scheme="simultaneous", precision=prec, channels_last=channels_last)
    trainer = Trainer(g, d, cfg, 100, CPU)
    trainer.step(torch.rand(16, 1, 28, 28) * 2 - 1)
    return trainer


def test_bf16_step_keeps_fp32_weights_and_lands_near_the_fp32_update():
    before = _fresh_weights()
    fp32, bf16 = _one_step("fp32"), _one_step("bf16")
    for name, w0 in before.items():
        if not w0.is_floating_point():
            continue
        w32, w16 = fp32.G.state_dict()[name], bf16.G.state_dict()[name]
        assert w16.dtype == torch.float32
        step32, step16 = w32 - w0, w16 - w0
        if step32.abs().max() == 0:
            continue
        # bf16 products change the update a little (so autocast is really on), not its direction.
        assert not torch.equal(step32, step16)
        cosine = torch.nn.functional.cosine_similarity(step32.flatten(), step16.flatten(), dim=0)
        assert cosine > 0.9, name


def _fresh_weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return copy.deepcopy(TFDCGANGenerator().state_dict())


def test_channels_last_only_for_convolutional_networks():
    conv = _one_step("fp32")
    assert conv.G.up1.weight.is_contiguous(memory_format=torch.channels_last)
    assert conv.D.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    plain = _one_step("fp32", channels_last=False)
    assert not plain.D.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    shape = (1, 28, 28)
    mlp = Trainer(MLPGenerator(10, (32,), shape), MLPDiscriminator(shape, (32,)), TrainConfig(), 10, CPU)
    assert not mlp.channels_last
    # The layout is a storage detail: the same weights and the same step either way.
    torch.testing.assert_close(conv.G.state_dict(), plain.G.state_dict())
