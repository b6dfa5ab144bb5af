"""Latent walks and truncation: the maths, and `ganforge interpolate` / `sample --truncation` end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.errors import UserError
from ganforge.latent import label_walk, parse_labels, parse_seeds, seeded_noise, slerp, truncate, walk
from ganforge.train.run import TrainingRun


def test_slerp_ends_at_its_endpoints_and_keeps_the_norm_of_orthogonal_unit_vectors():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-6)  # a straight line would dip to 0.71
    assert torch.allclose(path[2], torch.tensor([0.5**0.5, 0.5**0.5]), atol=1e-6)


def test_walk_passes_through_every_seed_in_order():
    noise = walk([3, 7, 11], 9, 16)
    assert noise.shape == (9, 16)
    for frame, seed in ((0, 3), (4, 7), (8, 11)):
        assert torch.allclose(noise[frame], seeded_noise(seed, 1, 16)[0], atol=1e-5)


def test_truncation_scales_toward_the_mean_and_refuses_bad_values():
    z = seeded_noise(0, 4, 8)
    assert torch.equal(truncate(z, None), z) and torch.equal(truncate(z, 1.0), z)
    assert torch.allclose(truncate(z, 0.5), z / 2)
    for bad in (-1.0, 1.5):
        with pytest.raises(UserError, match="between 0 and 1"):
            truncate(z, bad)


@pytest.mark.parametrize("text", ["1", "1,x", "", "-1,2", "1.5,2"])
def test_bad_seeds_are_one_clear_error(text):
    with pytest.raises(UserError, match="--seeds"):
        parse_seeds(text)


def test_interpolate_and_truncated_samples_from_a_run(tiny_cfg, tmp_path, capsys):
    run = tmp_path / "run"
    TrainingRun(tiny_cfg, run, show_progress=False).train()
    out = tmp_path / "walk.gif"
    assert (
        main(["interpolate", str(run), "--seeds", "1,5,9", "--frames", "6", "--rows", "2", "--out", str(out)])
        == 0
    )
    gif = Image.open(out)
    assert gif.n_frames == 6
    assert gif.size[1] > gif.size[0]  # two walks stacked
    frames = []
    for i in (0, 5):
        gif.seek(i)
        frames.append(torch.from_numpy(np.asarray(gif.convert("L")).copy()))
    assert not torch.equal(frames[0], frames[1])  # the walk moves
    # Truncation changes the picture, and psi = 1 is exactly no truncation.
    grids = {}
    for psi in ("1", "0.3"):
        target = tmp_path / f"t{psi}.npy"
        assert main(["sample", str(run), "--n", "4", "--truncation", psi, "--out", str(target)]) == 0
        grids[psi] = target.read_bytes()
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "plain.npy")]) == 0
    assert grids["1"] == (tmp_path / "plain.npy").read_bytes() and grids["0.3"] != grids["1"]
    capsys.readouterr()
    for argv, message in (
        (["--seeds", "1,2", "--out", str(tmp_path / "none" / "w.gif")], "does not exist"),
        (["--seeds", "1,2", "--out", str(tmp_path / "w.avi")], "use a .gif or an .mp4"),
        (["--seeds", "1,2", "--frames", "0", "--out", str(out)], "--frames must be at least 2"),
        (["--seeds", "1,2", "--label", "3", "--out", str(out)], "class-conditional run"),
    ):
        assert main(["interpolate", str(run), *argv]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "w.avi").exists()
    assert main(["eval", str(run), "--against", "mnist:test", "--truncation", "2"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_label_walk_blends_from_class_to_class():
    weights = label_walk([1, 7, 9], 5, 10)
    assert torch.allclose(weights.sum(1), torch.ones(5))
    assert weights[0].argmax() == 1 and weights[2].argmax() == 7 and weights[4].argmax() == 9
    assert torch.allclose(weights[1, [1, 7]], torch.tensor([0.5, 0.5]))
    with pytest.raises(UserError, match="one class per seed"):
        parse_labels("1", 2, 10)
    with pytest.raises(UserError, match="0..9"):
        parse_labels("1,12", 2, 10)


def test_conditional_walk_between_labels(tmp_path, capsys):
    argv = ["train", "mnist", "--conditional", "true", "--steps", "2", "--batch-size", "8", "--limit", "64"]
    assert main([*argv, "--device", "cpu", "--quiet", "--out", str(tmp_path / "run")]) == 0
    out = tmp_path / "walk.gif"
    walk_args = ["--seeds", "1,2,3", "--labels", "1,7,9", "--frames", "5", "--out", str(out)]
    assert main(["interpolate", str(tmp_path / "run"), *walk_args]) == 0
    assert Image.open(out).n_frames == 5
    assert (
        main(["interpolate", str(tmp_path / "run"), "--seeds", "1,2", "--labels", "3", "--out", str(out)])
        == 2
    )
    assert "one class per seed" in capsys.readouterr().err
