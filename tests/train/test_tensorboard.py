"""--tensorboard: the event files hold the losses, the quality metrics, the grids and the config."""

from __future__ import annotations

import json

import pytest

from ganforge.cli import main

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the [tensorboard] extra is not installed",
)


def test_event_files_read_back(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "mnist", "--preset", "tf-dcgan-mnist", "--limit", "64", "--batch-size", "16"]
    argv += ["--steps", "8", "--log-every", "2", "--sample-every", "4", "--eval-every", "4", "--eval-n", "50"]
    assert main([*argv, "--device", "cpu", "--tensorboard", "true", "--out", str(run), "--quiet"]) == 0
    events = event_accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"):
        assert [e.step for e in events.Scalars(f"train/{name}")] == [2, 4, 6, 8]
    fd = events.Scalars("quality/FD-mnist-cnn")
    assert [e.step for e in fd] == [4, 8] and all(e.value > 0 for e in fd)
    assert "quality/SWD" in tags["scalars"]
    assert [e.step for e in events.Images("fixed_noise")] == [4, 8, 8]  # every --sample-every, and the end
    assert "config" in " ".join(tags["tensors"])  # the config as text
    # The losses in TensorBoard are the ones in metrics.jsonl.
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in x]
    assert [round(e.value, 5) for e in events.Scalars("train/d_loss")] == [
        round(r["d_loss"], 5) for r in lines
    ]
