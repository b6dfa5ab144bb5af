"""benchmarks/fast_recipes.py picks the checkpoints that runs sharing the cores are compared at."""

import json
import os
from pathlib import Path

import pytest
import torch

from tests.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def fast_recipes():
    return load_benchmark("fast_recipes")


def _run(tmp_path: Path, clocks: dict[int, float], cpu_per_clock: float) -> list[Path]:
    """A run directory with checkpoints at these training clocks and CPU time at a fixed rate."""
    (tmp_path / "checkpoints").mkdir()
    found = []
    for step, clock in clocks.items():
        path = tmp_path / "checkpoints" / f"step_{step:09d}.pt"
        torch.save({"state": {"elapsed": clock}}, path)
        found.append(path)
    samples = [{"time": 0, "cpu": w * cpu_per_clock, "wall_time": w} for w in range(60, 3000, 60)]
    (tmp_path / "cpu_clock.jsonl").write_text("\n".join(map(json.dumps, samples)) + "\n")
    return found


def test_the_checkpoint_nearest_each_cpu_minute_is_chosen(tmp_path, fast_recipes):
    # Two thirds of a core: 30 CPU minutes is 45 minutes of training clock.
    found = _run(tmp_path, {400: 600.0, 800: 1350.0, 1200: 2000.0, 1600: 2700.0}, 2 / 3)
    chosen = fast_recipes._nearest_cpu(tmp_path, found, [15, 30])
    assert [p.name for p in chosen] == ["step_000000800.pt", "step_000001600.pt"]
    # The same checkpoint nearest two minutes is scored once.
    assert len(fast_recipes._nearest_cpu(tmp_path, found, [29, 30])) == 1


def test_a_run_without_cpu_times_says_to_use_stride(tmp_path, fast_recipes):
    found = _run(tmp_path, {400: 600.0}, 1.0)
    (tmp_path / "cpu_clock.jsonl").unlink()
    with pytest.raises(SystemExit, match="--stride"):
        fast_recipes._nearest_cpu(tmp_path, found, [30])


def test_a_resumed_run_counts_cpu_on_from_its_last_checkpoint(tmp_path, fast_recipes):
    # Interrupted at clock 2940 s; the last checkpoint was written at 2000 s of clock, 1000 CPU s.
    _run(tmp_path, {400: 600.0, 800: 2000.0}, 0.5)
    assert fast_recipes._resume_cpu(tmp_path) == pytest.approx(1000.0)
    kept = [json.loads(r) for r in (tmp_path / "cpu_clock.jsonl").read_text().splitlines()]
    lost = [json.loads(r) for r in (tmp_path / "cpu_clock.lost.jsonl").read_text().splitlines()]
    assert max(r["wall_time"] for r in kept) <= 2000 < min(r["wall_time"] for r in lost)
    assert len(kept) + len(lost) == 49
    # The resumed process's own CPU seconds are written after the offset: the clock goes on, not back.
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 801, "wall_time": 2010.0}) + "\n")
    fast_recipes._record_cpu(tmp_path, os.getpid(), offset=1000.0)
    last = json.loads((tmp_path / "cpu_clock.jsonl").read_text().splitlines()[-1])
    assert last["wall_time"] == 2010.0 and last["cpu"] >= 1000.0
    assert fast_recipes._cpu_at(tmp_path, 2010.0) == pytest.approx(last["cpu"])


def test_averaging_takes_the_mean_of_the_ema_generators(story_run, fast_recipes):
    from ganforge.checkpoint import generator_weights, load_checkpoint
    from ganforge.sampling import load_run_generator

    found = sorted((story_run / "checkpoints").glob("step_*.pt"))[-2:]
    assert len(found) == 2
    generator, _, _ = load_run_generator(found[-1], torch.device("cpu"))
    averaged = fast_recipes._averaged(generator, found)
    first, last = (generator_weights(load_checkpoint(path)) for path in found)
    for name, param in averaged.named_parameters():
        assert torch.allclose(param, (first[name] + last[name]) / 2, atol=1e-6), name
    # BatchNorm statistics are measured for the mean weights, not averaged.
    stats = {k: v for k, v in averaged.state_dict().items() if k.endswith("running_mean")}
    assert stats and any(not torch.allclose(v, (first[k] + last[k]) / 2) for k, v in stats.items())


@pytest.mark.parametrize(
    ("against", "name"),
    [
        ("twemoji", "curve_twemoji.json"),
        ("mnist:test", "curve_mnist_test.json"),
        ("../oxygen/icons32", "curve_oxygen_icons32.json"),
        ("/data/my icons.v2/", "curve_data_my_icons_v2.json"),
    ],
)
def test_scores_against_a_folder_path_are_kept_in_the_run(tmp_path, fast_recipes, against, name):
    # A folder path once named a file under a directory that did not exist: every score was lost at the end.
    curve = fast_recipes.curve_path(tmp_path, against)
    assert curve == tmp_path / name
    curve.write_text("[]")
    assert [p.name for p in tmp_path.glob("curve_*.json")] == [name]
