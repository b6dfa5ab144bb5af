import json
import os

import numpy as np
import pytest
import torch

from ganforge.cli import main
from ganforge.data.folder import load_folder
from ganforge.data.store import is_store, load_store, prepare
from ganforge.errors import UserError
from tests.conftest import write_images


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    write_images(root / "cats", 13, size=40)
    write_images(root / "dogs", 11, size=52, fmt="JPEG")
    (root / "dogs" / "broken.png").write_bytes(b"not an image")
    return root


def test_a_store_holds_what_the_folder_loader_decodes(folder, tmp_path):
    manifest = prepare(folder, tmp_path / "st", image_size=16, shard_size=5, report=lambda _: None)
    assert is_store(tmp_path / "st") and manifest["images"] == 24 and manifest["files"] == 25
    assert [s["images"] for s in manifest["shards"]] == [
        5,
        5,
        4,
        5,
        5,
    ]  # 25 files; dogs/broken.png sorts into shard 2
    assert len(manifest["skipped"]) == 1 and "broken.png" in manifest["skipped"][0]
    stored, decoded = load_store(tmp_path / "st", 16, 3), load_folder(folder, 16, 3)
    assert stored.class_names == decoded.class_names == ["cats", "dogs"]
    assert torch.equal(stored.labels, decoded.labels)
    idx = torch.tensor([23, 0, 7, 7, 12, 5])  # across shards, repeated, unsorted
    assert stored.images.shape == decoded.images.shape == (24, 3, 16, 16)
    assert torch.equal(stored.images[idx], decoded.images[idx])
    assert torch.equal(stored.subset(6).images[torch.arange(6)], decoded.images[:6])
    with pytest.raises(IndexError):
        stored.subset(6).images[torch.tensor([6])]


def test_gathers_stay_correct_after_pages_are_released(folder, tmp_path):
    prepare(folder, tmp_path / "st", image_size=8, shard_size=4, report=lambda _: None)
    images = load_store(tmp_path / "st", 8, 3).images
    images.release_every = 1  # drop the mapped pages after every gather
    first = images[torch.arange(24)].clone()
    assert torch.equal(images[torch.arange(24)], first)


def test_an_interrupted_prepare_redoes_only_the_unfinished_shards(folder, tmp_path):
    out = tmp_path / "st"
    first = prepare(folder, out, image_size=8, shard_size=10, report=lambda _: None)
    shards = out / "shards"
    (shards / "shard-00001.json").unlink()  # killed while writing shard 1
    (shards / "shard-00002.npy").write_bytes(b"damaged")  # and shard 2 damaged on disk
    kept = (shards / "shard-00000.npy").stat().st_mtime_ns
    lines = []
    again = prepare(folder, out, image_size=8, shard_size=10, report=lines.append)
    assert again["shards"] == first["shards"] and len(lines) == 3
    assert (shards / "shard-00000.npy").stat().st_mtime_ns == kept


def test_other_settings_or_a_foreign_folder_are_refused(folder, tmp_path):
    prepare(folder, tmp_path / "st", image_size=8, report=lambda _: None)
    with pytest.raises(UserError, match="another image_size"):
        prepare(folder, tmp_path / "st", image_size=16, report=lambda _: None)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("user data")
    with pytest.raises(UserError, match="not a ganforge store"):
        prepare(folder, tmp_path / "other", image_size=8, report=lambda _: None)
    assert (tmp_path / "other" / "keep.txt").read_text() == "user data"
    (tmp_path / "a-file").write_text("user data")
    with pytest.raises(UserError, match="is a file"):
        prepare(folder, tmp_path / "a-file", image_size=8, report=lambda _: None)
    with pytest.raises(UserError, match="--size 28 --channels 3"):
        load_store(tmp_path / "st", 28, 3)


def test_prepare_then_train_from_the_command_line(folder, tmp_path, capsys):
    store, run = tmp_path / "st", tmp_path / "run"
    assert (
        main(
            [
                "prepare",
                str(folder),
                "--size",
                "28",
                "--out",
                str(store),
                "--workers",
                "1",
                "--shard-size",
                "10",
            ]
        )
        == 0
    )
    assert "24 images in 3 shards, 1 skipped" in capsys.readouterr().out
    args = ["train", str(store), "--preset", "tf-dcgan-mnist", "--channels", "3", "--batch-size", "8"]
    assert main([*args, "--steps", "2", "--device", "cpu", "--out", str(run), "--quiet"]) == 0
    assert (run / "checkpoints" / "step_000000002.pt").is_file()
    assert json.loads((run / "config.json").read_text())["data"]["source"] == str(store)
    assert os.path.getsize(store / "shards" / "shard-00000.npy") > 8 * 28 * 28 * 3
    assert np.load(store / "labels.npy").tolist() == [0] * 13 + [1] * 11
