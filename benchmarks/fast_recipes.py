"""Time to quality of the fast recipes against the tutorial presets, on one machine; and ganforge's overhead.

Quality is measured on checkpoints after training, so evaluation never eats into a run's clock: each run
saves a checkpoint every ``--every`` steps, and ``score`` evaluates each one's EMA generator (seed 0)
against a reference, at the training clock the checkpoint recorded (grids and checkpoint writes count,
as they do for a user).

    python benchmarks/fast_recipes.py train OUT --preset sn-dcgan --data mnist --minutes 5 --every 500
    OMP_NUM_THREADS=1 python benchmarks/fast_recipes.py train OUT --preset fastgan --data twemoji ...
    OMP_NUM_THREADS=1 python benchmarks/fast_recipes.py train OUT --minutes 128  # OUT has checkpoints: resume
    python benchmarks/fast_recipes.py score OUT --against mnist:test --n 10000
    python benchmarks/fast_recipes.py score OUT --against twemoji --n 2000        # FD-efficientnet + SWD
    python benchmarks/fast_recipes.py score OUT --against twemoji --n 2000 --at-cpu 15 30   # two points
    python benchmarks/fast_recipes.py score OUT --against twemoji --at-cpu 30 --average 4  # mean of 4 EMAs
    python benchmarks/fast_recipes.py report OUT... [--png curves.png] [--x cpu]
    python benchmarks/fast_recipes.py panel OUT... --at-cpu 30 --png samples.png    # 64 samples of each
    python benchmarks/fast_recipes.py overhead [--steps 20 --rounds 5]

``overhead`` times sn-dcgan's training step through ganforge's Trainer and through a minimal hand-written
PyTorch loop of the same networks, batch, loss, optimisers and EMA, interleaved round by round so that
both see the same machine state; it prints each side's median images/s and the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

from ganforge import build_models, get_preset
from ganforge.checkpoint import generator_weights, load_checkpoint, load_weights
from ganforge.latent import cycled_labels
from ganforge.metrics.evaluate import build_reference, evaluate, load_reference
from ganforge.metrics.extractors import default_extractor, get_extractor
from ganforge.platforms import own_process_group, stops_forwarded
from ganforge.sampling import generate, load_run_generator, recompute_norms
from ganforge.train.trainer import Trainer


def train(
    out: Path, preset: str | None, data: str, minutes: float, every: int, seed: int, extra: list[str]
) -> None:
    """Train OUT, recording the CPU time the training process used; a run with checkpoints is resumed.

    Resuming continues the run from its last checkpoint with ``minutes`` as the new budget (``ganforge
    train --resume``): preset, data and seed are the run's own and are ignored, ``extra`` is refused.
    """
    ganforge = [sys.executable, "-m", "ganforge", "train"]
    cpu_before = _resume_cpu(out) if sorted((out / "checkpoints").glob("step_*.pt")) else None
    if cpu_before is not None:
        if extra:
            raise SystemExit(f"{out} is resumed with its own settings: drop {' '.join(extra)}")
        command = [*ganforge, "--resume", str(out), "--minutes", str(minutes), "--quiet"]
    elif preset is None:
        raise SystemExit("a new run needs --preset")
    else:
        command = [*ganforge, data, "--preset", preset, "--minutes", str(minutes), "--seed", str(seed)]
        command += ["--checkpoint-every-steps", str(every), "--keep-checkpoints", "100000"]
        command += ["--out", str(out), "--quiet", *extra]
    start = time.monotonic()
    status, stopped = run_forwarding_stops(command, lambda pid: _record_cpu(out, pid, cpu_before or 0.0))
    if stopped:
        raise SystemExit(f"stopped: {out} keeps its last checkpoint; the same train command resumes it")
    if status:
        raise SystemExit(f"training failed with status {status}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    info = {
        "command": " ".join(command[1:]),
        "process_seconds": time.monotonic() - start,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,  # all cores together: 2 x wall on 2 busy cores
        "resumed_at_cpu_seconds": cpu_before,
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "avx512_bf16": "avx512_bf16" in Path("/proc/cpuinfo").read_text(),
    }
    name = "benchmark_run.json" if cpu_before is None else f"benchmark_resume_{int(cpu_before)}.json"
    (out / name).write_text(json.dumps(info, indent=1))


def run_forwarding_stops(command: list[str], every_10s: Callable[[int], None]) -> tuple[int, bool]:
    """Run ``command``, calling ``every_10s`` with its pid while it runs; (exit status, whether stopped).

    The training runs in a process group of its own and this script passes its stop signals on (Ctrl-C,
    SIGTERM): a ``kill`` or ``pkill`` aimed at the script alone used to leave the training running,
    unseen and still writing into its run directory. The run then saves a checkpoint and exits.
    """
    job = subprocess.Popen(command, **own_process_group())
    with stops_forwarded(lambda: [job.pid]) as stopped:
        while job.poll() is None:
            every_10s(job.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                job.wait(10)
    return job.returncode, bool(stopped)


def _resume_cpu(out: Path) -> float:
    """CPU seconds the run had used at its last checkpoint, where ``ganforge train --resume`` goes on.

    The work after that checkpoint is lost and done again, so its CPU samples are dropped from
    cpu_clock.jsonl (kept aside in cpu_clock.lost.jsonl); the resumed process counts from zero and its
    samples are written with this offset, so CPU minutes stay comparable with an uninterrupted run.
    """
    clock = _clock(sorted((out / "checkpoints").glob("step_*.pt"))[-1])
    cpu = _cpu_at(out, clock)
    if cpu is None:
        raise SystemExit(f"{out}/cpu_clock.jsonl does not reach its last checkpoint: its CPU clock is lost")
    path = out / "cpu_clock.jsonl"
    kept, lost = [], []
    for row in path.read_text().splitlines():
        (kept if json.loads(row).get("wall_time", 0) <= clock else lost).append(row)
    if lost:
        with (out / "cpu_clock.lost.jsonl").open("a") as fh:
            fh.write("".join(row + "\n" for row in lost))
    path.write_text("".join(row + "\n" for row in kept))
    return cpu


def _record_cpu(out: Path, pid: int, offset: float = 0.0) -> None:
    """Append (training clock, CPU seconds of the training process + ``offset``) to OUT/cpu_clock.jsonl.

    CPU time measures the work a run got when other processes share the machine; ``score`` maps each
    checkpoint's training clock onto it.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        lines = (out / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return
    cpu = offset + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    last = json.loads(lines[-1]) if lines else {}
    if "wall_time" in last:
        with (out / "cpu_clock.jsonl").open("a") as fh:
            fh.write(json.dumps({"time": time.time(), "cpu": cpu, "wall_time": last["wall_time"]}) + "\n")


def _cpu_at(out: Path, clock: float) -> float | None:
    """CPU seconds the training process had used at training clock ``clock`` (linear between samples)."""
    path = out / "cpu_clock.jsonl"
    if not path.is_file():
        return None
    samples = [(0.0, 0.0)] + [
        (r["wall_time"], r["cpu"])
        for r in map(json.loads, path.read_text().splitlines())
        if r.get("wall_time")
    ]
    samples.sort()
    for (w0, c0), (w1, c1) in itertools.pairwise(samples):
        if w0 <= clock <= w1 and w1 > w0:
            return c0 + (c1 - c0) * (clock - w0) / (w1 - w0)
    return samples[-1][1] if clock >= samples[-1][0] else None


def score(
    out: Path, against: str, n: int, stride: int = 1, at_cpu: list[float] | None = None, average: int = 1
) -> list[dict]:
    """Score checkpoints of OUT; with ``average`` K > 1, each one's generator is the mean of the EMA
    generators of the K checkpoints up to it (printed only: the run's curve keeps what it trained)."""
    found = sorted((out / "checkpoints").glob("step_*.pt"))
    if at_cpu:
        checkpoints = _nearest_cpu(out, found, at_cpu)
    else:
        checkpoints = found[stride - 1 :: stride] + ([found[-1]] if len(found) % stride else [])
    extractor = get_extractor(default_extractor(against.split(":")[0]))
    reference = None
    points = []
    for path in checkpoints:
        generator, _, step = load_run_generator(path, torch.device("cpu"))
        if average > 1:
            end = found.index(path) + 1
            generator = _averaged(generator, found[max(end - average, 0) : end])
        clock = _clock(path)
        images = _draw(generator, n)
        if reference is None:
            reference = build_reference(*load_reference(against, tuple(images.shape[1:])), extractor)
        metrics = evaluate(images, reference, extractor, seed=0)["metrics"]
        point = {"step": step, "clock": clock, "cpu": _cpu_at(out, clock), "n": n}
        point |= {k: v for k, v in metrics.items() if _scalar(v)}
        points.append(point | ({"average": average} if average > 1 else {}))
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in points[-1].items()}))
    if average > 1:
        return points
    # Merge with earlier scoring of other checkpoints of the same run, so points can be added later.
    curve = curve_path(out, against)
    earlier = json.loads(curve.read_text()) if curve.is_file() else []
    merged = {p["step"]: p for p in earlier} | {p["step"]: p for p in points}
    curve.write_text(json.dumps(sorted(merged.values(), key=lambda p: p["step"]), indent=1))
    return points


def curve_path(out: Path, against: str) -> Path:
    """Where ``score`` keeps OUT's points against ``against``: one flat file in OUT for any reference.

    ``against`` may be a folder path (``../oxygen/icons32``): its separators and dots would name a
    directory that does not exist, and the scores would be lost after the last checkpoint's.
    """
    name = re.sub(r"[^A-Za-z0-9-]+", "_", against).strip("_")
    return out / f"curve_{name or 'reference'}.json"


def _averaged(generator: torch.nn.Module, checkpoints: list[Path]) -> torch.nn.Module:
    """``generator`` holding the mean of the EMA weights of ``checkpoints``: a longer average, post hoc.

    Its BatchNorm statistics are measured again for the mean weights, as for any EMA generator.
    """
    weights = [generator_weights(load_checkpoint(path)) for path in checkpoints]
    mean = {
        key: torch.stack([w[key].float() for w in weights]).mean(0).to(last.dtype)
        if last.is_floating_point()
        else last
        for key, last in weights[-1].items()
    }
    load_weights(generator, mean, "generator")
    recompute_norms(generator)
    return generator


def _draw(generator: torch.nn.Module, n: int) -> torch.Tensor:
    """``n`` images from noise seed 0 (classes in turn for a conditional generator): every run alike."""
    noise = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(0))
    classes = getattr(generator, "num_classes", None)
    return generate(generator, noise, cycled_labels(n, classes))


def _clock(path: Path) -> float:
    # mmap: only the few bytes of the clock are read, not the whole checkpoint (tens of MB, dozens a run).
    return torch.load(path, map_location="cpu", weights_only=True, mmap=True)["state"]["elapsed"]


def _nearest_cpu(out: Path, found: list[Path], minutes: list[float]) -> list[Path]:
    """The checkpoints nearest each of ``minutes`` of CPU time: runs that shared the cores compare there."""
    cpu = {path: _cpu_at(out, _clock(path)) for path in found}
    known = [path for path in found if cpu[path] is not None]
    if not known:
        raise SystemExit(f"{out}/cpu_clock.jsonl has no CPU times: score with --stride instead")
    chosen = {min(known, key=lambda path: abs(cpu[path] - m * 60)) for m in minutes}
    return sorted(chosen)


def _scalar(value: object) -> bool:
    return isinstance(value, (int, float))


def report(runs: list[Path], png: Path | None, x: str) -> None:
    curves = {run: json.loads(next(run.glob("curve_*.json")).read_text()) for run in runs}
    first = next(iter(curves.values()))[0]
    keys = [k for k in first if k.startswith("FD-")][:1] + [k for k in first if k == "SWD"]
    print("| run | steps | training minutes | CPU minutes | " + " | ".join(keys) + " | classes |")
    print("|---" * (len(keys) + 5) + "|")
    for run, points in curves.items():
        for p in points:
            cells = " | ".join(f"{p[k]:.1f}" for k in keys)
            cpu = f"{p['cpu'] / 60:.1f}" if p.get("cpu") is not None else "-"
            classes = p.get("classes_covered", "-")
            print(f"| {run.name} | {p['step']} | {p['clock'] / 60:.1f} | {cpu} | {cells} | {classes} |")
    if png:
        _plot(curves, keys, png, x)


def _plot(curves: dict[Path, list[dict]], keys: list[str], png: Path, x: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for run, points in curves.items():
            shown = [p for p in points if p.get(x) is not None]
            ax.plot([p[x] / 60 for p in shown], [p[key] for p in shown], marker="o", label=run.name)
        label = "training minutes (wall clock)" if x == "clock" else "CPU minutes of the training process"
        ax.set(xlabel=label, ylabel=key, yscale="log", title=f"{key} (lower is better)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def panel(runs: list[Path], minutes: float, png: Path, n: int = 64) -> None:
    """Side by side: ``n`` EMA samples (seed 0) of each run's checkpoint nearest ``minutes`` CPU minutes,
    captioned with that checkpoint's scores when ``score`` has written them."""
    from ganforge.sampling import caption, make_grid, side_by_side

    pictures = []
    for run in runs:
        (path,) = _nearest_cpu(run, sorted((run / "checkpoints").glob("step_*.pt")), [minutes])
        generator, _, step = load_run_generator(path, torch.device("cpu"))
        text = f"{run.name}, step {step} ({_cpu_at(run, _clock(path)) / 60:.1f} CPU min)"
        for curve in run.glob("curve_*.json"):
            point = next((p for p in json.loads(curve.read_text()) if p["step"] == step), None)
            if point:
                fd = next(k for k in point if k.startswith("FD-"))
                text += f": FD {point[fd]:.1f}" + (f", SWD {point['SWD']:.1f}" if "SWD" in point else "")
        pictures.append(caption(make_grid(_draw(generator, n), nrow=8), text))
    sheet = side_by_side(pictures, gap=10)
    sheet.quantize(256).save(png, optimize=True)  # a 256-colour palette: a third of the size for the docs
    print(f"wrote {png}")


def overhead(steps: int, rounds: int, precision: str) -> None:
    cfg = get_preset("sn-dcgan")
    cfg.train.precision = precision
    torch.manual_seed(0)
    g, d = build_models(cfg.model, cfg.data)
    trainer = Trainer(
        copy.deepcopy(g), copy.deepcopy(d), cfg.train, cfg.model.latent_dim, torch.device("cpu")
    )
    plain = _PlainLoop(copy.deepcopy(g), copy.deepcopy(d), cfg, trainer.amp_dtype)
    batch = cfg.train.batch_size
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    sides = {"ganforge": lambda: trainer.step(real), "hand-written": lambda: plain.step(real)}
    for run in sides.values():  # warm-up: allocator, oneDNN primitive caches
        for _ in range(3):
            run()
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            start = time.perf_counter()
            for _ in range(steps):
                stats = run()
            float(stats["d_loss"])  # every side's losses are read once per round, as logging does
            rates[name].append(steps * batch / (time.perf_counter() - start))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    for name, r in rates.items():
        print(
            f"{name:>12}: median {medians[name]:.0f} images/s over {rounds} rounds ({[round(x) for x in r]})"
        )
    print(f"ratio ganforge / hand-written: {medians['ganforge'] / medians['hand-written']:.3f}")
    print(f"precision {trainer.amp_dtype or 'fp32'}, threads {torch.get_num_threads()}, batch {batch}")


class _PlainLoop:
    """The same step written as a tutorial would: D on real and fake, then G; hinge; Adam; EMA."""

    def __init__(self, g: torch.nn.Module, d: torch.nn.Module, cfg, amp_dtype) -> None:
        t = cfg.train
        self.g, self.d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(g).eval().requires_grad_(False)
        self.opt_g = torch.optim.Adam(g.parameters(), t.g_optim.lr, (t.g_optim.beta1, t.g_optim.beta2))
        self.opt_d = torch.optim.Adam(d.parameters(), t.d_optim.lr, (t.d_optim.beta1, t.d_optim.beta2))
        self.latent, self.amp, self.decay, self.n = cfg.model.latent_dim, amp_dtype, t.ema_decay, 0

    def step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        real = real.contiguous(memory_format=torch.channels_last)
        n = real.shape[0]
        with torch.autocast("cpu", dtype=self.amp or torch.float32, enabled=self.amp is not None):
            with torch.no_grad():
                fake = self.g(torch.randn(n, self.latent))
            d_loss = F.relu(1 - self.d(real)).mean() + F.relu(1 + self.d(fake)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            g_loss = -self.d(self.g(torch.randn(n, self.latent))).mean()
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        self.n += 1
        decay = min(self.decay, (1 + self.n) / (10 + self.n))
        with torch.no_grad():
            for e, p in zip(self.ema.parameters(), self.g.parameters(), strict=True):
                e.lerp_(p, 1 - decay)
            for e, b in zip(self.ema.buffers(), self.g.buffers(), strict=True):
                e.copy_(b)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train")
    t.add_argument("out", type=Path)
    t.add_argument("--preset", help="required for a new run; a run with checkpoints is resumed as it was")
    t.add_argument("--data", default="mnist")
    t.add_argument("--minutes", type=float, default=5)
    t.add_argument("--every", type=int, default=500, help="steps between checkpoints (curve points)")
    t.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("score")
    s.add_argument("out", type=Path)
    s.add_argument("--against", default="mnist:test")
    s.add_argument("--n", type=int, default=10000)
    s.add_argument("--stride", type=int, default=1, help="score every K-th checkpoint (and the last)")
    s.add_argument("--at-cpu", type=float, nargs="+", help="score the checkpoints nearest these CPU minutes")
    s.add_argument("--average", type=int, default=1, help="score the mean of the last K EMA generators")
    r = sub.add_parser("report")
    r.add_argument("out", nargs="+", type=Path)
    r.add_argument("--png", type=Path)
    r.add_argument("--x", choices=["clock", "cpu"], default="clock", help="the plot's x axis")
    pn = sub.add_parser("panel")
    pn.add_argument("out", nargs="+", type=Path)
    pn.add_argument("--at-cpu", type=float, required=True, help="CPU minutes to show each run at")
    pn.add_argument("--png", type=Path, required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--steps", type=int, default=20)
    o.add_argument("--rounds", type=int, default=5)
    o.add_argument("--precision", default="auto")
    # Flags this script does not know are passed on to `ganforge train` (e.g. --augment color).
    args, extra = parser.parse_known_args()
    if extra and args.what != "train":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.what == "train":
        extra = [a for a in extra if a != "--"]
        train(args.out, args.preset, args.data, args.minutes, args.every, args.seed, extra)
    elif args.what == "score":
        score(args.out, args.against, args.n, args.stride, args.at_cpu, args.average)
    elif args.what == "report":
        report(args.out, args.png, args.x)
    elif args.what == "panel":
        panel(args.out, args.at_cpu, args.png)
    else:
        overhead(args.steps, args.rounds, args.precision)


if __name__ == "__main__":
    main()
