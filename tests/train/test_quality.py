import json

import pytest

from ganforge.checkpoint import checkpoint_dir, list_checkpoints, load_checkpoint
from ganforge.errors import UserError
from ganforge.metrics.evaluate import load_reference
from ganforge.metrics.extractors import get_extractor
from ganforge.train.callbacks.quality import QualityEvaluator
from ganforge.train.run import TrainingRun
from tests.conftest import write_images


def test_quality_is_evaluated_during_training_with_a_best_checkpoint(tiny_cfg, tmp_path):
    tiny_cfg.train.eval_every = 4
    tiny_cfg.train.eval_n = 100
    run = tmp_path / "run"
    TrainingRun(tiny_cfg, run, show_progress=False).train()
    records = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    quality = [r for r in records if "quality" in r]
    assert [r["step"] for r in quality] == [4, 8]
    assert 0 < quality[0]["wall_time"] < quality[1]["wall_time"]  # the training clock, for time-to-quality
    assert {"FD-mnist-cnn", "KID-mnist-cnn", "precision", "classes_covered"} <= set(quality[0]["quality"])
    assert (
        quality[0]["provenance"]["extractor"] == "mnist-cnn"
        and quality[0]["provenance"]["n_generated"] == 100
    )
    best = load_checkpoint(checkpoint_dir(run) / "best.pt")
    fds = [r["quality"]["FD-mnist-cnn"] for r in quality]
    assert best["quality"]["FD-mnist-cnn"] == min(fds)
    assert best["state"]["step"] == quality[fds.index(min(fds))]["step"]
    assert (run / "quality.png").stat().st_size > 1000
    assert "best.pt" not in [p.name for p in list_checkpoints(run)]  # never mistaken for a resume point


def test_quality_on_a_folder_is_measured_against_its_own_images(tiny_cfg, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="the [rgb-metrics] extra is not installed")
    write_images(tmp_path / "imgs", 20, size=32)
    tiny_cfg.data.source, tiny_cfg.data.channels, tiny_cfg.data.image_size = str(tmp_path / "imgs"), 3, 32
    tiny_cfg.model.name, tiny_cfg.data.limit = "dcgan", None
    tiny_cfg.train.eval_every, tiny_cfg.train.eval_n = 4, 16
    tiny_cfg.train.epochs, tiny_cfg.train.steps = None, 8
    run = tmp_path / "run"
    TrainingRun(tiny_cfg, run, show_progress=False).train()
    quality = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "quality" in r]
    assert [r["step"] for r in quality] == [4, 8]
    # EfficientNet-Lite0 FD and the weight-free SWD, against the training folder itself.
    assert {"FD-efficientnet-lite0", "SWD", "SWD-32", "SWD-16"} <= set(quality[0]["quality"])
    assert "SWD" in quality[0]["message"]


def test_quality_without_the_rgb_extractor_is_one_line(tiny_cfg, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_efficientnet(name, *args, **kwargs):
        if name.startswith("efficientnet_lite"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_efficientnet)
    write_images(tmp_path / "imgs", 20, size=28, mode="L")
    tiny_cfg.data.source, tiny_cfg.data.limit = str(tmp_path / "imgs"), None
    tiny_cfg.train.eval_every = 4
    with pytest.raises(UserError, match="efficientnet-lite0 extractor needs: pip install"):
        TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_class_collapse_is_warned_once_per_episode():
    reference, _ = load_reference("mnist:test")
    warnings = []
    evaluator = QualityEvaluator(
        10, reference, get_extractor("mnist-cnn"), report=lambda g, r: warnings.append(r)
    )

    class Gan:
        class state:
            step = 5

    balanced = {"class_histogram": [0.1] * 10}
    skewed = {"class_histogram": [0.5, 0.01] + [0.06125] * 8}
    for metrics in (balanced, skewed, skewed, balanced, skewed):
        evaluator._check_classes(Gan, metrics)
    assert len(warnings) == 2
    assert "classes [1] under 2% of samples; classes [0] over 30%" in warnings[0]["message"]
