import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ganforge
from ganforge import GAN, EarlyStopping, ImageGrid, LambdaCallback, MetricsLogger, UserError


class TinyG(nn.Module):
    latent_dim = 8

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 64)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, 1, 8, 8)


def tiny_d():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 1))


def _images(n=40):
    return torch.randint(0, 256, (n, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_fit_generate_and_callbacks_on_user_modules(tmp_path):
    torch.manual_seed(0)
    gan = GAN(TinyG(), tiny_d(), loss="hinge", device="cpu")
    seen = []
    logger = MetricsLogger(None, every=5)
    state = gan.fit(
        _images(),
        epochs=3,
        batch_size=10,
        callbacks=[
            ImageGrid(tmp_path / "grids", every_epochs=2),
            logger,
            LambdaCallback(on_epoch_end=lambda g: seen.append(g.state.epoch)),
        ],
    )
    assert (state.epoch, state.step) == (3, 12)
    assert seen == [1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == [
        "epoch_0002.png",
        "final.png",
        "final_grid.png",
    ]
    assert [r["step"] for r in logger.records] == [5, 10, 12]
    images = gan.generate(5, seed=1)
    assert images.shape == (5, 1, 8, 8) and images.dtype == torch.uint8
    assert torch.equal(images, gan.generate(5, seed=1))


def test_fit_accepts_numpy_and_continues_counting():
    gan = GAN(TinyG(), tiny_d(), device="cpu")
    gan.fit(_images().numpy(), steps=3, batch_size=10)
    gan.fit(_images().numpy(), steps=5, batch_size=10)  # steps are global, as in a resumed run
    assert gan.state.step == 5


def test_early_stopping_stops_after_patience():
    gan = GAN(TinyG(), tiny_d(), device="cpu")
    gan.fit(_images(), epochs=50, batch_size=10, callbacks=[EarlyStopping(lambda g: 1.0, patience=2)])
    assert gan.state.epoch == 3  # the first epoch sets the best, two more without improvement stop


def test_api_errors_are_clear():
    with pytest.raises(UserError, match="latent_dim"):
        GAN(nn.Linear(2, 2), tiny_d())
    gan = GAN(TinyG(), tiny_d(), device="cpu")
    with pytest.raises(UserError, match="fit needs a budget"):
        gan.fit(_images(), batch_size=10)
    with pytest.raises(UserError, match="must be uint8"):
        gan.fit(np.zeros((20, 8, 8), np.float32), steps=1, batch_size=10)
    with pytest.raises(UserError, match="fewer than one batch"):
        gan.fit(_images(5), steps=1, batch_size=10)


def test_train_preset_runs_like_the_cli(tmp_path):
    run = ganforge.train_preset("mlp-latent10", tmp_path / "run", quiet=True, steps=4, batch_size=16)
    assert run.state.step == 4 and (tmp_path / "run" / "losses.png").is_file()


def test_example_script_runs(tmp_path):
    example = Path(__file__).parents[1] / "examples" / "custom_gan.py"
    source = example.read_text()
    # Cut down to seconds; if the example's literals change, say so rather than run it in full.
    assert "limit=10_000" in source and "epochs=3" in source, "update the replacements to the example"
    source = source.replace("limit=10_000", "limit=256").replace("epochs=3", "epochs=1")
    script = tmp_path / "example.py"
    script.write_text(source)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert (
        "samples: (16, 1, 28, 28)" in result.stdout and (tmp_path / "runs/custom-example/final.png").is_file()
    )
