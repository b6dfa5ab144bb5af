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


def test_config_and_keyword_arguments_together_are_refused():
    with pytest.raises(UserError, match="give either config= or loss=, g_lr= not both"):
        GAN(TinyG(), tiny_d(), config=ganforge.TrainConfig(), loss="hinge", g_lr=1e-3)


def test_a_cli_run_comes_back_as_a_gan_that_draws_what_sample_draws(tmp_path):
    from ganforge.cli import main

    run = tmp_path / "run"
    flags = ["--limit", "64", "--batch-size", "16", "--steps", "3", "--device", "cpu", "--quiet"]
    assert main(["train", "mnist", *flags, "--out", str(run)]) == 0  # sn-dcgan: EMA and BatchNorm
    gan = GAN.from_run(run, device="cpu")
    assert gan.state.step == 3 and gan.run_config.preset == "sn-dcgan"
    assert main(["sample", str(run), "--n", "12", "--seed", "5", "--out", str(tmp_path / "s.npy")]) == 0
    drawn = torch.from_numpy(np.load(tmp_path / "s.npy"))[:, None]
    assert torch.equal(gan.generate(12, seed=5), drawn)
    gan.fit(load_digits(64), steps=5)  # and it trains on from where it was
    assert gan.state.step == 5


def load_digits(n):
    return ganforge.load_data(ganforge.DataConfig(source="mnist", limit=n))


NETWORKS = """
import torch
from torch import nn


class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc = nn.Linear(latent_dim, 64)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, 1, 8, 8)


def build(model, data):
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(data.channels * data.image_size**2, 1))
    return Generator(model.latent_dim), discriminator
"""


def test_networks_from_a_users_module_are_sampled_exported_and_served_by_the_cli(tmp_path, monkeypatch):
    (tmp_path / "my_nets.py").write_text(NETWORKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = ganforge.RunConfig(
        data=ganforge.DataConfig(channels=1, image_size=8),
        model=ganforge.ModelConfig(name="my_nets:build", latent_dim=8),
        train=ganforge.TrainConfig(batch_size=10, device="cpu", ema_decay=0.9),
    )
    gan = GAN.from_config(cfg)
    run = tmp_path / "run"
    gan.fit(_images(), steps=4, callbacks=[ganforge.Checkpointer(run)])
    env = {"PYTHONPATH": str(tmp_path)}
    cli = [sys.executable, "-m", "ganforge"]
    sample = subprocess.run([*cli, "sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")],
                            capture_output=True, text=True, env=_env(env), timeout=300)  # fmt: skip
    assert sample.returncode == 0, sample.stderr
    assert (tmp_path / "s.png").is_file()
    _serves_a_grid(run)
    pytest.importorskip("onnx", reason="the [export] extra is not installed")
    export = subprocess.run([*cli, "export", str(run), "--out", str(tmp_path / "exp")],
                            capture_output=True, text=True, env=_env(env), timeout=300)  # fmt: skip
    assert export.returncode == 0, export.stderr
    # Without the module on the path: one line that says what is missing.
    missing = subprocess.run([*cli, "sample", str(run), "--n", "4", "--out", str(tmp_path / "t.png")],
                             capture_output=True, text=True, env=_env({}), timeout=300)  # fmt: skip
    assert missing.returncode == 2
    assert "names module 'my_nets', which cannot be imported" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def _env(extra):
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return env | extra


def _serves_a_grid(run):
    """`ganforge serve`'s server draws a grid from the run (the generator rebuilt from its config)."""
    import http.client
    import threading

    from ganforge.serve import make_server

    server = make_server(run, port=0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
        conn.request("GET", "/api/grid?seed=1&count=4")
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (200, "image/png")
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_of_network_objects_says_plainly_that_it_cannot_be_rebuilt(tmp_path, capsys):
    from ganforge.cli import main

    gan = GAN(TinyG(), tiny_d(), device="cpu")
    gan.fit(_images(), steps=2, batch_size=10, callbacks=[ganforge.Checkpointer(tmp_path / "run")])
    with pytest.raises(UserError, match="network objects passed to ganforge.GAN"):
        GAN.from_run(tmp_path / "run")
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "s.png")]) == 2
    assert "cannot be rebuilt from a file" in capsys.readouterr().err
