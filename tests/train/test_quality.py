import json

import pytest

from ganforge.checkpoint import checkpoint_dir, list_checkpoints, load_checkpoint
from ganforge.errors import UserError
from ganforge.metrics.evaluate import load_reference
from ganforge.metrics.extractors import get_extractor
from ganforge.train.quality import QualityEvaluator
from ganforge.train.run import TrainingRun
from tests.conftest import write_images


def test_quality_is_evaluated_during_training_with_a_best_checkpoint(tiny_cfg, tmp_path):
    tiny_cfg.train.eval_every = 4
    tiny_cfg.train.eval_n = 100
    run = tmp_path / "run"
    TrainingRun(tiny_cfg, run, show_progress=False).fit()
    records = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    quality = [r for r in records if "quality" in r]
    assert [r["step"] for r in quality] == [4, 8]
    assert 0 < quality[0]["wall_time"] < quality[1]["wall_time"]  # the training clock, for time-to-quality
    assert {"FD-mnist-cnn", "KID-mnist-cnn", "precision", "classes_covered"} <= set(quality[0]["quality"])
    best = load_checkpoint(checkpoint_dir(run) / "best.pt")
    fds = [r["quality"]["FD-mnist-cnn"] for r in quality]
    assert best["quality"]["FD-mnist-cnn"] == min(fds)
    assert best["state"]["step"] == quality[fds.index(min(fds))]["step"]
    assert (run / "quality.png").stat().st_size > 1000
    assert "best.pt" not in [p.name for p in list_checkpoints(run)]  # never mistaken for a resume point


def test_quality_needs_an_extractor_for_the_data(tiny_cfg, tmp_path):
    write_images(tmp_path / "imgs", 20, size=28, mode="L")
    tiny_cfg.data.source = str(tmp_path / "imgs")
    tiny_cfg.data.limit = None
    tiny_cfg.train.eval_every = 4
    with pytest.raises(UserError, match="--eval-every needs --eval-against and a feature extractor"):
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
