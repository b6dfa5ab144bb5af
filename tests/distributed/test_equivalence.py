"""2 processes x B/2 (gloo, DDP) give the weights of 1 process x B, for every update scheme."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.distributed import equivalence_worker
from tests.distributed.launch import run_workers

pytestmark = pytest.mark.distributed


def test_two_processes_match_one(tmp_path: Path) -> None:
    out = tmp_path / "two.pt"
    run_workers(Path(equivalence_worker.__file__), [str(out)], world=2, tmp=tmp_path)
    two = torch.load(out, weights_only=True)
    for case, overrides in equivalence_worker.CASES.items():
        one = equivalence_worker.train_case(overrides)
        start = _initial_weights()
        assert one.keys() == two[case].keys()
        for key in one:
            torch.testing.assert_close(two[case][key], one[key], rtol=1e-5, atol=1e-6, msg=f"{case} {key}")
        # The steps did change both networks: the comparison is not of two untouched copies.
        for net in "GD":
            moved = [k for k in start if k.startswith(net) and not torch.equal(one[k], start[k])]
            assert len(moved) >= 3, f"{case}: {net} barely trained ({moved})"


def _initial_weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    g = equivalence_worker.MLPGenerator(equivalence_worker.LATENT, (16,), equivalence_worker.SHAPE, "relu")
    d = equivalence_worker.MLPDiscriminator(equivalence_worker.SHAPE, (16,))
    return {f"G.{k}": v for k, v in g.state_dict().items()} | {f"D.{k}": v for k, v in d.state_dict().items()}
