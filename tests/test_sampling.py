import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.sampling import CPU_BATCH, animate, generate, inference_batch, make_grid, write_samples
from ganforge.train.run import TrainingRun


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from ganforge.presets import get_preset

    cfg = get_preset("tf-dcgan-mnist")
    cfg.data.limit, cfg.train.batch_size, cfg.train.epochs, cfg.train.device = 32, 16, 3, "cpu"
    run_dir = tmp_path_factory.mktemp("sampled") / "run"
    TrainingRun(cfg, run_dir, show_progress=False).train()
    return run_dir


def test_grid_layout():
    images = torch.zeros(5, 3, 4, 6, dtype=torch.uint8)
    grid = make_grid(images, nrow=3, padding=1, scale=2)
    assert grid.size == ((3 * 7 + 1) * 2, (2 * 5 + 1) * 2) and grid.mode == "RGB"
    assert grid.getpixel((0, 0)) == (255, 255, 255) and grid.getpixel((2, 2)) == (0, 0, 0)


def test_sample_npy_png_and_folder(trained_run, tmp_path, capsys):
    assert (
        main(["sample", str(trained_run), "--n", "10", "--seed", "1", "--out", str(tmp_path / "x.npy")]) == 0
    )
    array = np.load(tmp_path / "x.npy")
    assert array.shape == (10, 28, 28) and array.dtype == np.uint8
    again = tmp_path / "y.npy"
    main(["sample", str(trained_run), "--n", "10", "--seed", "1", "--out", str(again)])
    assert np.array_equal(array, np.load(again))  # same seed, same samples
    main(["sample", str(trained_run), "--n", "10", "--seed", "2", "--out", str(again)])
    assert not np.array_equal(array, np.load(again))
    main(["sample", str(trained_run), "--n", "9", "--out", str(tmp_path / "g.png")])
    assert Image.open(tmp_path / "g.png").size == (3 * 30 + 2, 3 * 30 + 2)
    main(["sample", str(trained_run), "--n", "3", "--out", str(tmp_path / "pngs")])
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert "wrote" in capsys.readouterr().out


def test_sample_from_a_checkpoint_file(trained_run, tmp_path):
    ckpt = sorted((trained_run / "checkpoints").glob("*.pt"))[0]
    assert main(["sample", str(ckpt), "--n", "2", "--out", str(tmp_path / "a.npy")]) == 0
    assert (
        main(
            [
                "sample",
                str(trained_run),
                "--checkpoint",
                str(ckpt),
                "--n",
                "2",
                "--out",
                str(tmp_path / "b.npy"),
            ]
        )
        == 0
    )
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_rgb_samples_are_nhwc(tmp_path):
    images = torch.randint(0, 255, (4, 3, 8, 8), dtype=torch.uint8)
    write_samples(images, tmp_path / "rgb.npy")
    array = np.load(tmp_path / "rgb.npy")
    assert array.shape == (4, 8, 8, 3) and np.array_equal(array[1, 2, 3], images[1, :, 2, 3].numpy())


def test_animate_labels_each_epoch(trained_run, tmp_path):
    assert main(["animate", str(trained_run), "--out", str(tmp_path / "p.gif")]) == 0
    gif = Image.open(tmp_path / "p.gif")
    assert gif.n_frames == 3
    assert animate(trained_run / "samples", tmp_path / "q.gif") == 3


def test_a_checkpoint_of_another_architecture_is_one_clear_line(trained_run, tmp_path, capsys):
    from ganforge.checkpoint import load_checkpoint, write_checkpoint

    state = load_checkpoint(sorted((trained_run / "checkpoints").glob("*.pt"))[0])
    state["trainer"]["G"]["fc.weight"] = torch.zeros(7, 100)  # as if the model had changed since
    changed = tmp_path / "changed.pt"
    header = ("format", "format_version", "checksum")  # write_checkpoint adds them again
    write_checkpoint(changed, {k: v for k, v in state.items() if k not in header})
    assert main(["sample", str(changed), "--n", "2", "--out", str(tmp_path / "a.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fc.weight is (7, 100) in the checkpoint" in err
    assert not (tmp_path / "a.npy").exists()


class _Recorder(torch.nn.Module):
    """A generator that draws pixels from its noise and records the batch sizes it was called with."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 3 * 8 * 8)
        self.sizes: list[int] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.sizes.append(len(z))
        return torch.tanh(self.layer(z)).view(-1, 3, 8, 8)


def test_generate_runs_small_batches_on_the_cpu_with_the_same_images():
    torch.manual_seed(0)
    g, noise = _Recorder(), torch.randn(40, 4)
    assert inference_batch(torch.device("cpu")) == CPU_BATCH == 16
    assert inference_batch(torch.device("cuda")) == inference_batch(torch.device("mps")) == 500
    images = generate(g, noise)
    assert g.sizes == [16, 16, 8] and images.shape == (40, 3, 8, 8) and images.dtype == torch.uint8
    g.sizes.clear()
    assert torch.equal(generate(g, noise, batch_size=40), images) and g.sizes == [40]
