"""benchmarks/fast_recipes.py picks the checkpoints that runs sharing the cores are compared at."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fast_recipes():
    spec = importlib.util.spec_from_file_location("fast_recipes", ROOT / "benchmarks" / "fast_recipes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
