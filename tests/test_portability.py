"""Runs where users are: devices (CUDA, MPS, CPU), Windows' file names and signals, the spawn start method.

The MPS and Windows code paths are exercised here on the CPU through the same functions a Mac or a
Windows machine calls; what was run on which OS is in README's platform table.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganforge import devices, platforms
from ganforge.errors import UserError
from ganforge.models import build_models
from ganforge.presets import get_preset
from ganforge.train.trainer import Trainer
from tests.conftest import write_images


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: True)
    assert devices.resolve_device("auto").type == "mps"
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    assert devices.resolve_device("auto").type == "cpu"
    with pytest.raises(UserError, match="no Apple GPU"):
        devices.resolve_device("mps")
    with pytest.raises(UserError, match="use auto, cpu, cuda\\[:N\\] or mps"):
        devices.resolve_device("tpu9")


def test_precision_auto_is_fp32_on_mps():
    from ganforge.train.precision import resolve_precision

    assert resolve_precision("auto", torch.device("mps")) is None  # MPS: fp32, its bf16 autocast differs


def test_missing_double_backward_is_refused_in_one_line(monkeypatch):
    assert devices.double_backward_works(torch.device("cpu"))  # the probe itself runs here
    monkeypatch.setattr(devices, "double_backward_works", lambda device: False)
    cfg = get_preset("r3gan")
    cfg.data.image_size, cfg.model.width = 16, 2
    with pytest.raises(UserError, match="cannot take gradients of gradients on cpu") as caught:
        Trainer(*build_models(cfg.model, cfg.data), cfg.train, 64, torch.device("cpu"))
    assert "\n" not in str(caught.value)
    cfg.train.r1_gamma = cfg.train.r2_gamma = 0.0  # without penalties nothing second-order is needed
    Trainer(*build_models(cfg.model, cfg.data), cfg.train, 64, torch.device("cpu"))


class _Float64Spy(TorchDispatchMode):
    """Records every operation whose result is float64 (MPS has no float64)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        results = out if isinstance(out, (tuple, list)) else [out]
        if any(isinstance(r, torch.Tensor) and r.dtype == torch.float64 for r in results):
            self.seen.add(str(func))
        return out


@pytest.mark.parametrize("preset", ["fastgan", "r3gan", "sn-dcgan"])
def test_training_steps_use_no_float64(preset):
    cfg = get_preset(preset)
    if cfg.data.channels == 3:
        cfg.data.image_size = 32
    cfg.model.width = 4
    cfg.train.augment, cfg.train.augment_p, cfg.train.mirror = "color,translation,cutout", "auto", True
    cfg.train.precision = "fp32"
    g, d = build_models(cfg.model, cfg.data)
    trainer = Trainer(g, d, cfg.train, cfg.model.latent_dim, torch.device("cpu"))
    real = torch.rand(4, cfg.data.channels, cfg.data.image_size, cfg.data.image_size) * 2 - 1
    spy = _Float64Spy()
    with spy:
        for step in range(5):
            trainer.dials.set_progress(step / 5)
            trainer.step(real)
        trainer.sampler(torch.randn(2, cfg.model.latent_dim))
    assert not spy.seen, f"float64 on the training device: {sorted(spy.seen)}"


def test_windows_file_name_rules():
    problem = platforms.windows_name_problem
    assert problem("step_000000100.pt") is None and problem(".lock") is None
    assert "reserves (CON)" in problem("con.png")
    assert "refuses" in problem("a:b.png") and "refuses" in problem('say"hi".txt')
    assert "dot or a space" in problem("final. ")


def test_every_file_a_run_writes_has_a_name_windows_accepts(tmp_path):
    from ganforge.cli import main

    run = tmp_path / "run"
    flags = ["--limit", "64", "--batch-size", "16", "--steps", "4", "--sample-every", "2", "--quiet"]
    extra = ["--checkpoint-every-steps", "2", "--eval-every", "4", "--eval-n", "32", "--device", "cpu"]
    assert main(["train", "mnist", *flags, *extra, "--conditional", "--out", str(run)]) == 0
    assert main(["sample", str(run), "--n", "4", "--out", str(run / "pngs")]) == 0
    assert main(["animate", str(run)]) == 0
    assert main(["report", str(run)]) == 0
    assert (
        main(["interpolate", str(run), "--seeds", "1,2", "--frames", "2", "--out", str(run / "w.gif")]) == 0
    )
    names = [p.name for p in run.rglob("*")]
    assert len(names) > 15
    assert [problem for name in names if (problem := platforms.windows_name_problem(name))] == []


def test_stop_signals_follow_the_os(monkeypatch):
    assert platforms.stop_signals() == [signal.SIGINT, signal.SIGTERM]
    monkeypatch.setattr(platforms, "WINDOWS", True)
    on_windows = platforms.stop_signals()  # Ctrl-C, and Ctrl-Break where the signal module has it
    assert on_windows[0] == signal.SIGINT and signal.SIGTERM not in on_windows
    assert platforms.interrupted_by("SIGBREAK") and not platforms.interrupted_by("SIGTERM")


@pytest.mark.skipif(sys.platform == "win32", reason="a process sends itself SIGTERM only on POSIX")
def test_a_stop_inside_stops_forwarded_reaches_the_child_not_this_process():
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    child = subprocess.Popen(sleeper, **platforms.own_process_group())
    before = signal.getsignal(signal.SIGTERM)
    try:
        with platforms.stops_forwarded(lambda: [child.pid]) as stopped:
            signal.raise_signal(signal.SIGTERM)  # would end pytest were it not forwarded
            assert child.wait(timeout=30) == -signal.SIGTERM
        assert stopped == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        child.kill()
        child.wait()


def test_prepare_decodes_with_spawned_workers(tmp_path):
    """What macOS and Windows do by default: worker processes started by spawn."""
    write_images(tmp_path / "imgs", 12, size=20)
    script = textwrap.dedent(
        f"""
        import multiprocessing, sys
        from ganforge.data.store import prepare
        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn", force=True)
            manifest = prepare({str(tmp_path / "imgs")!r}, {str(tmp_path / "store")!r}, 16, 3, 5, 2)
            print(manifest["images"], manifest["prepared"]["workers"])
        """
    )
    (tmp_path / "spawned.py").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "spawned.py")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["12", "2"]


def test_the_test_script_runs_a_worker_per_core_where_the_os_can_say_how_many(monkeypatch):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "test.py"
    spec = importlib.util.spec_from_file_location("ganforge_test_script", path)
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts scripts/ first on it
    spec.loader.exec_module(script)
    # macOS and Windows have no sched_getaffinity: the core count comes from cpu_count there.
    monkeypatch.delattr("os.sched_getaffinity", raising=False)
    for cores, expected in ((None, []), (1, []), (2, ["-n", "2"]), (16, ["-n", "8"])):
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        assert script.parallel()[:2] == expected
    assert script.parallel()[2:] == ["--dist", "loadfile"]  # a module's fixtures built once
