import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.cli import main
from ganforge.config import DataConfig
from ganforge.data import load_data
from ganforge.errors import UserError
from ganforge.metrics import classifier
from ganforge.metrics.evaluate import evaluate, load_reference
from ganforge.metrics.extractors import get_extractor, module_extractor, register_extractor
from ganforge.train.run import TrainingRun


def _mnist_npy(path, n, offset=0):
    train = load_data(DataConfig(source="mnist", split="train"))
    np.save(path, train.images[offset : offset + n, 0].numpy())


def test_real_train_is_close_to_real_test_and_noise_is_far(tmp_path, capsys):
    _mnist_npy(tmp_path / "real.npy", 1500)
    noise = np.random.default_rng(0).integers(0, 256, (1500, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "noise.npy", noise)
    for name in ("real", "noise"):
        json_out = str(tmp_path / f"{name}.json")
        assert (
            main(["eval", str(tmp_path / f"{name}.npy"), "--against", "mnist:test", "--json", json_out]) == 0
        )
    real = json.loads((tmp_path / "real.json").read_text())
    noise_record = json.loads((tmp_path / "noise.json").read_text())
    r, n = real["metrics"], noise_record["metrics"]
    assert r["FD-mnist-cnn"] * 50 < n["FD-mnist-cnn"]
    assert r["KID-mnist-cnn"] * 50 < n["KID-mnist-cnn"]
    assert r["classes_covered"] == 10 and r["class_kl_to_real"] < 0.01
    assert r["precision"] > 0.7 and r["recall"] > 0.7 and n["precision"] < 0.05
    # The weight-free SWD agrees, per level too, and says how it was computed.
    assert r["SWD"] * 10 < n["SWD"] and {"SWD-28", "SWD-14"} <= set(r)
    assert real["provenance"]["swd"].startswith("Laplacian pyramid")
    provenance = real["provenance"]
    assert provenance["extractor"] == "mnist-cnn" and provenance["n_generated"] == 1500
    assert provenance["n_reference"] == 10000 and provenance["reference"] == "mnist:test"
    assert len(provenance["weights_sha256"]) == 64 and provenance["classifier_test_accuracy"] >= 0.99
    assert "FD-mnist-cnn" in capsys.readouterr().out


def test_a_run_is_evaluated_from_its_generator_and_logged(tiny_cfg, tmp_path):
    run = tmp_path / "run"
    TrainingRun(tiny_cfg, run, show_progress=False).train()
    assert main(["eval", str(run), "--against", "mnist:test", "--n", "200", "--seed", "3"]) == 0
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 8 and last["eval"]["provenance"]["preset"] == "tf-dcgan-mnist"
    assert last["eval"]["provenance"]["n_generated"] == 200 and "FD-mnist-cnn" in last["eval"]["metrics"]


def test_same_seed_same_numbers(tmp_path):
    _mnist_npy(tmp_path / "a.npy", 500, offset=1000)
    ref, _ = load_reference("mnist:test")
    images = torch.from_numpy(np.load(tmp_path / "a.npy"))[:, None]
    a = evaluate(images, ref, get_extractor("mnist-cnn"), seed=1)
    b = evaluate(images, ref, get_extractor("mnist-cnn"), seed=1)
    assert a == b


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    for name in ("mnist-cnn.pt", "mnist-cnn.json"):
        shutil.copy(classifier.WEIGHTS_DIR / name, tmp_path / name)
    data = bytearray((tmp_path / "mnist-cnn.pt").read_bytes())
    data[-100] ^= 1
    (tmp_path / "mnist-cnn.pt").write_bytes(bytes(data))
    monkeypatch.setattr(classifier, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(UserError, match="does not match the sha256 in mnist-cnn.json"):
        get_extractor("mnist-cnn")


def test_user_extractors_plug_in_and_mistakes_are_one_line(tmp_path, capsys):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 16))
    register_extractor("tiny-random", lambda: module_extractor("tiny-random", net, 16, (1, 28, 28)))
    _mnist_npy(tmp_path / "a.npy", 300)
    args = ["eval", str(tmp_path / "a.npy"), "--against", "mnist:test", "--extractor", "tiny-random"]
    assert main(args) == 0
    assert "FD-tiny-random" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "a.npy"), "--against", "mnist:test", "--extractor", "nope"]) == 2
    assert main(["eval", str(tmp_path / "a.npy"), "--against", "cifar:test"]) == 2
    np.save(tmp_path / "rgb.npy", np.zeros((10, 28, 28, 3), np.uint8))
    assert main(["eval", str(tmp_path / "rgb.npy"), "--against", "mnist:test"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "unknown extractor 'nope'" in err[0]
    assert "mnist-cnn takes (1, 28, 28), got images shaped (3, 28, 28)" in err[2]


def test_copies_of_training_images_are_flagged_as_near_copies():
    reference, _ = load_reference("mnist:test")
    train = load_data(DataConfig(source="mnist", split="train"))
    extractor = get_extractor("mnist-cnn")
    copies = evaluate(train.images[:1000], reference, extractor, kid_subsets=2, train=train)["metrics"]
    fresh = evaluate(reference.images[:1000], reference, extractor, kid_subsets=2, train=train)["metrics"]
    assert copies["near_copies"] == 1.0 and copies["nn_train_distance_ratio"] == 0.0
    assert fresh["near_copies"] < 0.03 and 0.9 < fresh["nn_train_distance_ratio"] < 1.1


def test_saved_reference_statistics_give_the_same_numbers(tmp_path, capsys):
    _mnist_npy(tmp_path / "a.npy", 300)
    first = ["eval", str(tmp_path / "a.npy"), "--against", "mnist:test", "--json", str(tmp_path / "1.json")]
    assert main([*first, "--save-reference", str(tmp_path / "ref.pt")]) == 0
    again = ["eval", str(tmp_path / "a.npy"), "--against", str(tmp_path / "ref.pt")]
    assert main([*again, "--json", str(tmp_path / "2.json")]) == 0
    one, two = (json.loads((tmp_path / f"{i}.json").read_text()) for i in (1, 2))
    assert one["metrics"] == two["metrics"] and two["provenance"]["reference"] == "mnist:test"
    (tmp_path / "bad.pt").write_bytes(b"not a reference")
    assert main(["eval", str(tmp_path / "a.npy"), "--against", str(tmp_path / "bad.pt")]) == 2
    assert "is not readable reference statistics" in capsys.readouterr().err
