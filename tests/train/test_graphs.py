"""CUDA graph replay of the training step must train exactly as the eager step does.

The comparisons need a GPU and are skipped without one (CI has none); they ran on an H100 (see
docs/performance.md). The CPU tests check that graphs stay off where they cannot apply.
"""

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig, TrainConfig
from ganforge.models import build_models
from ganforge.presets import get_preset
from ganforge.train.trainer import Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class SmallG(nn.Module):
    """Linear + BatchNorm + transposed conv: buffers, convolutions and channels-last all present."""

    latent_dim = 16

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 8 * 7 * 7)
        self.bn = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 1, 4, stride=4)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.fc(z).view(-1, 8, 7, 7)).relu()
        return torch.tanh(self.up(x))


class SmallD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 4, stride=2, padding=1)  # a weight whose channels-last layout differs
        self.fc = nn.Linear(8 * 7 * 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.leaky_relu(self.conv1(x), 0.2)
        return self.fc(nn.functional.leaky_relu(self.conv2(x), 0.2).flatten(1))


SCHEMES = {
    "simultaneous": {"scheme": "simultaneous"},
    "alternating": {"scheme": "alternating", "ema_decay": 0.9},
    "separate-batches-noisy-labels": {
        "d_separate_batches": True,
        "real_label_low": 0.8,
        "fake_label_high": 0.2,
    },
    "half-batch-two-d-steps": {"d_half_batch": True, "d_steps": 2},
    "wgan-gp": {"loss": "wgan-gp"},
    "lazy-r1": {"r1_gamma": 1.0, "r1_every": 2, "loss": "hinge"},
}


def _pair(train: dict, models=None):
    """Two trainers from the same initial weights and seed: CUDA graphs on and off."""
    torch.manual_seed(0)
    g, d = models or (SmallG(), SmallD())
    made = []
    for graphs in (True, False):
        cfg = TrainConfig(precision="fp32", cuda_graphs=graphs, **train)
        made.append(Trainer(copy.deepcopy(g), copy.deepcopy(d), cfg, g.latent_dim, torch.device("cuda")))
    return made


def _assert_same_state(a: nn.Module, b: nn.Module) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5, msg=name)


@cuda
@pytest.mark.parametrize("name", list(SCHEMES))
def test_graphed_steps_train_as_eager_ones(name):
    graphed, eager = _pair(SCHEMES[name])
    assert graphed.graphs is not None and eager.graphs is None
    torch.manual_seed(1)
    batches = [torch.rand(8, 1, 28, 28, device="cuda") * 2 - 1 for _ in range(3)]
    batches.append(torch.rand(5, 1, 28, 28, device="cuda") * 2 - 1)  # a last, smaller batch
    for real in batches + batches:
        stats = [t.step(real) for t in (graphed, eager)]
        for key in stats[1]:
            torch.testing.assert_close(stats[0][key], stats[1][key], rtol=1e-4, atol=1e-5, msg=key)
    _assert_same_state(graphed.G, eager.G)  # weights and BatchNorm statistics
    _assert_same_state(graphed.D, eager.D)
    if graphed.ema:
        _assert_same_state(graphed.ema.shadow, eager.ema.shadow)
    # One capture per update kind and batch shape, reused after that.
    assert 2 <= len(graphed.graphs._captured) <= 8


@cuda
def test_conditional_graphed_steps_train_as_eager_ones():
    model = ModelConfig(name="keras-gan-mlp", latent_dim=16, conditional=True, num_classes=10)
    graphed, eager = _pair({}, build_models(model, DataConfig()))
    real = torch.rand(8, 1, 28, 28, device="cuda") * 2 - 1
    labels = torch.arange(8, device="cuda") % 10
    for _ in range(3):
        stats = [t.step(real, labels) for t in (graphed, eager)]
    torch.testing.assert_close(stats[0]["g_loss"], stats[1]["g_loss"], rtol=1e-4, atol=1e-5)
    _assert_same_state(graphed.G, eager.G)


CAPTURE_FAILS = """
import torch
from torch import nn
from ganforge.errors import UserError
from ganforge.train.graphs import StepGraphs

net = nn.Linear(3, 1).cuda()

def update(x):
    loss = net(x).sum()
    if loss.item() > 1e9:  # a host read: not allowed while capturing
        raise AssertionError
    return {"loss": loss.detach()}, {}

try:
    StepGraphs([net]).run("probe", update, {"x": torch.ones(2, 3, device="cuda")})
except UserError as error:
    print(error)
"""


@cuda
def test_an_update_that_cannot_be_captured_is_a_one_line_error():
    # In a process of its own: a failed capture can leave the CUDA context unusable for later tests.
    done = subprocess.run([sys.executable, "-c", CAPTURE_FAILS], capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    assert "CUDA graph capture of the probe update failed" in lines[0]
    assert "--cuda-graphs false" in lines[0]


def test_graphs_stay_off_on_the_cpu_and_when_asked():
    cpu = Trainer(SmallG(), SmallD(), TrainConfig(), 16, torch.device("cpu"))
    assert cpu.graphs is None
    if torch.cuda.is_available():
        off = Trainer(SmallG(), SmallD(), TrainConfig(cuda_graphs=False), 16, torch.device("cuda"))
        assert off.graphs is None
        # Reused fakes carry G's autograd graph from the D update into G's: no capture can hold that.
        reuse = Trainer(SmallG(), SmallD(), TrainConfig(reuse_fakes=True), 16, torch.device("cuda"))
        assert reuse.graphs is None
        # ... so "auto" keeps the graphs and G's fresh fakes on one GPU.
        auto = Trainer(SmallG(), SmallD(), TrainConfig(reuse_fakes="auto"), 16, torch.device("cuda"))
        assert auto.graphs is not None and not auto.handoff.on


@cuda
@pytest.mark.parametrize("preset", ["tf-dcgan-mnist", "dcgan64", "dcgan", "tf1-mnist", "keras-gan-mlp"])
def test_every_preset_trains_on_the_gpu_with_its_defaults(preset):
    # Presets' own networks: channels-last weights of several layouts meet fused Adam here.
    cfg = get_preset(preset)
    trainer = Trainer(
        *build_models(cfg.model, cfg.data), cfg.train, cfg.model.latent_dim, torch.device("cuda")
    )
    assert trainer.graphs is not None
    before = {net: [p.detach().clone() for p in net.parameters()] for net in (trainer.G, trainer.D)}
    shape = (cfg.train.batch_size, cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
    for _ in range(3):
        stats = trainer.step(torch.rand(shape, device="cuda") * 2 - 1)
    assert all(torch.isfinite(v) for v in stats.values())
    for net, weights in before.items():
        assert any(not torch.equal(b, a) for b, a in zip(weights, net.parameters(), strict=True))
