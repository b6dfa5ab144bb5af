"""`ganforge export`: ONNX + safetensors + model card, loadable without the run, checked in onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.latent import seeded_noise
from ganforge.presets import get_preset
from ganforge.sampling import generate, load_run_generator
from ganforge.train.run import TrainingRun

ort = pytest.importorskip("onnxruntime", reason="the [export] extra is not installed")
pytest.importorskip("onnxscript", reason="the [export] extra is not installed")
pytest.importorskip("safetensors", reason="the [export] extra is not installed")


def _train(preset: str, out, **data) -> None:
    cfg = get_preset(preset)
    cfg.data.limit, cfg.train.batch_size, cfg.train.device = 64, 8, "cpu"
    cfg.train.epochs, cfg.train.minutes, cfg.train.steps = None, None, 2
    for key, value in data.items():
        setattr(cfg.model if key == "conditional" else cfg.data, key, value)
    TrainingRun(cfg, out, show_progress=False).train()


@pytest.mark.parametrize(("preset", "conditional"), [("tf1-mnist", False), ("sn-dcgan", True)])
def test_export_matches_the_run_in_pytorch_and_onnxruntime(preset, conditional, tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "exported"
    _train(preset, run, conditional=conditional)
    assert main(["export", str(run), "--out", str(out)]) == 0
    assert "largest difference" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "generator.onnx",
        "generator.safetensors",
        "samples.png",
    ]
    # ganforge.load_exported needs only the folder, and draws what the run's own checkpoint draws.
    exported = ganforge.load_exported(out)
    original, _, _ = load_run_generator(run, torch.device("cpu"))
    z = seeded_noise(5, 13, exported.latent_dim)  # a batch size the export never saw
    labels = torch.arange(13) % 10 if conditional else None
    assert torch.equal(generate(exported, z, labels), generate(original, z, labels))
    # onnxruntime alone: same images up to float rounding, any batch size, a labels input when conditional.
    session = ort.InferenceSession(str(out / "generator.onnx"))
    names = [i.name for i in session.get_inputs()]
    assert names == (["z", "labels"] if conditional else ["z"])
    feeds = {"z": z.numpy()} | ({"labels": labels.numpy()} if conditional else {})
    got = session.run(None, feeds)[0]
    with torch.no_grad():
        want = (exported(z, labels) if conditional else exported(z)).numpy()
    assert got.shape == (13, 1, 28, 28) and np.abs(got - want).max() < 1e-4
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-sa-3.0\n") and f"preset `{preset}`" in card
    assert "load_exported" in card and "InferenceSession" in card and "16 real images seen (batch 8)" in card
    meta = json.loads((out / "config.json").read_text())
    assert meta["format"] == "ganforge-generator" and meta["config"]["preset"] == preset


def test_twemoji_card_carries_the_attribution_and_the_latest_quality(tmp_path):
    from ganforge.export.card import model_card

    cfg = get_preset("fastgan")
    g, _ = ganforge.build_models(cfg.model, cfg.data)
    quality = {"metrics": {"FD-efficientnet-lite0": 123.4, "SWD": 56.7}, "provenance": {"n_generated": 2000}}
    info = {"checkpoint": "step_000000010.pt", "step": 10, "epoch": 1, "seconds": 60.0, "images_seen": 320}
    card = model_card(cfg, g, info | {"quality": quality, "data_images": 4009, "onnx_max_abs_diff": 1e-6})
    assert "license: cc-by-4.0" in card and "Twemoji graphics by Twitter, Inc" in card
    assert "| FD-efficientnet-lite0 | 123.4 |" in card and "| SWD | 56.7 |" in card
    assert "n_generated" in card and "4009" in card


def test_export_mistakes_are_one_line_and_write_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    _train("tf-dcgan-mnist", run)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    cases = [
        (["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")], "neither a run directory"),
        (["export", str(run), "--out", str(tmp_path / "full")], "not an empty folder"),
        (["export", str(run), "--out", str(tmp_path / "no" / "such")], "does not exist"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        assert message in capsys.readouterr().err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "run"]  # no partial export left
