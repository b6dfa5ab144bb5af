"""The ``ganforge`` command: parse flags -> config -> library call -> one clean line on user mistakes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch

from ganforge.config import RunConfig
from ganforge.data import BUILTIN
from ganforge.errors import UserError
from ganforge.fileio import append_line, atomic_folder, write_atomic
from ganforge.latent import parse_labels, parse_seeds, seeded_noise, truncate
from ganforge.metrics.extractors import default_extractor, get_extractor
from ganforge.presets import COLOUR_DEFAULT, GRAY_DEFAULT, PRESETS, default_preset, get_preset
from ganforge.sampling import (
    WALK_FORMATS,
    animate,
    generate,
    load_generator,
    make_grid,
    save_animation,
    save_png,
    walk_frames,
    write_samples,
)
from ganforge.train import distributed
from ganforge.train.distributed import resolve_device
from ganforge.train.run import TrainingRun, default_run_dir
from ganforge.version import __version__

BUDGET = ("train.epochs", "train.steps", "train.minutes")
# flag -> (config field, type, help). Flags map 1:1 onto config fields.
TRAIN_FLAGS: dict[str, tuple[str, type, str]] = {
    "--epochs": ("train.epochs", int, "train for N epochs"),
    "--steps": ("train.steps", int, "train until global step N"),
    "--minutes": ("train.minutes", float, "train for this many wall-clock minutes"),
    "--batch-size": ("train.batch_size", int, "images per batch"),
    "--seed": ("train.seed", int, "seed for weights, data order and noise (runs repeat exactly on CPU)"),
    "--device": ("train.device", str, "auto (default), cpu, cuda, cuda:N"),
    "--precision": ("train.precision", str, "auto (bf16 where native, default), bf16 or fp32"),
    "--channels-last": ("train.channels_last", bool, "NHWC layout for conv nets (default true)"),
    "--sync-bn": ("train.sync_bn", bool, "several GPU processes: BatchNorm over the global batch"),
    "--cuda-graphs": ("train.cuda_graphs", bool, "one GPU: replay steps as CUDA graphs (default true)"),
    "--lr-g": ("train.g_optim.lr", float, "generator learning rate"),
    "--lr-d": ("train.d_optim.lr", float, "discriminator learning rate"),
    "--log-every": ("train.log_every", int, "steps between metrics.jsonl lines"),
    "--sample-every": ("train.sample_every", int, "steps between sample grids (default: every epoch)"),
    "--checkpoint-every": ("train.checkpoint_every", int, "epochs between checkpoints"),
    "--checkpoint-every-steps": ("train.checkpoint_every_steps", int, "steps between checkpoints"),
    "--keep-checkpoints": ("train.keep_checkpoints", int, "how many recent checkpoints to keep"),
    "--loss": ("train.loss", str, "bce (= nonsaturating), minimax, lsgan, hinge, wgan-gp"),
    "--scheme": (
        "train.scheme",
        str,
        "simultaneous (one forward pass, TF2 tutorial) or alternating (D then G)",
    ),
    "--d-steps": ("train.d_steps", int, "discriminator updates per generator update"),
    "--real-label-low": (
        "train.real_label_low",
        float,
        "real targets are uniform in [low, high] (smoothing: 0.9)",
    ),
    "--real-label-high": ("train.real_label_high", float, "upper end of the real targets"),
    "--fake-label-low": ("train.fake_label_low", float, "fake targets are uniform in [low, high]"),
    "--fake-label-high": ("train.fake_label_high", float, "upper end of the fake targets"),
    "--r1-gamma": ("train.r1_gamma", float, "R1 penalty weight on real data (0 = off)"),
    "--r1-every": ("train.r1_every", int, "lazy R1: apply every N discriminator steps"),
    "--gp-weight": ("train.gp_weight", float, "gradient penalty weight (default 10 with wgan-gp)"),
    "--augment": ("train.augment", str, "DiffAugment on what D sees: color,translation,cutout (or none)"),
    "--ema-decay": ("train.ema_decay", float, "generator EMA decay, e.g. 0.999 (grids and samples use it)"),
    "--max-restarts": ("train.max_restarts", int, "NaN/Inf recoveries before stopping"),
    "--restart-lr-factor": ("train.restart_lr_factor", float, "lr multiplier per recovery"),
    "--eval-every": ("train.eval_every", int, "steps between quality evaluations (FD, KID, classes)"),
    "--eval-n": ("train.eval_n", int, "images generated per quality evaluation (default 2000)"),
    "--eval-against": (
        "train.eval_against",
        str,
        "reference for --eval-every (default: the test split of mnist/fashion-mnist, else DATA itself)",
    ),
    "--tensorboard": ("train.tensorboard", bool, "also log to RUN/tensorboard for TensorBoard (true/false)"),
    "--beta1-g": ("train.g_optim.beta1", float, "generator Adam beta1"),
    "--beta1-d": ("train.d_optim.beta1", float, "discriminator Adam beta1"),
    "--spectral-norm": ("model.spectral_norm", bool, "spectral normalisation on D (1/0, true/false)"),
    "--width": ("model.width", int, "base channel count (dcgan)"),
    "--conditional": ("model.conditional", bool, "class-conditional G and D (labelled data; true/false)"),
    "--data-dir": ("data.data_dir", str, "folder holding the idx files of mnist / fashion-mnist"),
    "--split": ("data.split", str, "train or test (built-in datasets)"),
    "--limit": ("data.limit", int, "use only the first N images"),
    "--channels": ("data.channels", int, "1 (grayscale) or 3 (RGB) for image folders"),
    "--image-size": ("data.image_size", int, "square image side the model draws"),
    "--latent-dim": ("model.latent_dim", int, "size of the noise vector"),
}

TRAIN_EXAMPLES = """examples:
  ganforge train mnist --minutes 5 --out runs/demo      (the fast default: sn-dcgan)
  ganforge train twemoji --minutes 30                   (the colour default: fastgan with DiffAugment)
  ganforge train ./my_images --image-size 64 --augment color,translation,cutout --steps 20000
  ganforge train mnist --preset tf-dcgan-mnist --epochs 5
  ganforge train --preset keras-gan-mlp --steps 2000
  ganforge train fashion-mnist --loss hinge --spectral-norm true --ema-decay 0.999 --epochs 3
  ganforge train twemoji --preset projected-gan --eval-every 1000 --tensorboard true
  ganforge train --resume runs/demo --epochs 10
  ganforge train mnist --nproc 2 --epochs 5 --out runs/two     (2 processes through torchrun)
  torchrun --nproc-per-node 4 -m ganforge train ./faces --preset dcgan64 --epochs 20
"""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No prefix matching: a typo such as --epoch must be an error, not silently --epochs.
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the hint says where the full usage is.
        self.exit(2, f"ganforge: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="ganforge",
        description="Train, watch and use GANs on images.",
        epilog="run 'ganforge COMMAND --help' for a command's options and examples",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a GAN", epilog=TRAIN_EXAMPLES, formatter_class=formatter)
    train.add_argument(
        "data", nargs="?", help=f"{', '.join(BUILTIN)}, or a folder of images (default: mnist)"
    )
    train.add_argument(
        "--preset",
        default=None,
        help=f"named configuration (default: {GRAY_DEFAULT} for grayscale up to 64 px, {COLOUR_DEFAULT} "
        "for colour); see 'ganforge presets'",
    )
    train.add_argument("--config", type=Path, help="a config.json to start from (flags override it)")
    train.add_argument("--out", type=Path, help="run directory (default runs/<preset>-<time>)")
    train.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="continue this run from its last checkpoint"
    )
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument(
        "--nproc",
        type=int,
        help="train as N processes on this machine through torchrun (DDP; docs/distributed.md)",
    )
    for flag, (_, kind, text) in TRAIN_FLAGS.items():
        train.add_argument(flag, type=_parse_bool if kind is bool else kind, default=None, help=text)

    sample = sub.add_parser(
        "sample",
        help="draw images from a trained run",
        formatter_class=formatter,
        epilog="examples:\n  ganforge sample runs/demo --n 64 --out grid.png\n"
        "  ganforge sample runs/demo --n 10000 --seed 1 --out samples.npy\n"
        "  ganforge sample runs/demo --n 100 --out pngs/\n"
        "  ganforge sample runs/cond --n 16 --label 7 --out sevens.png\n",
    )
    sample.add_argument("run", type=Path, help="run directory or checkpoint file")
    sample.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")
    sample.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    sample.add_argument("--out", type=Path, required=True, help="grid .png, array .npy, or a folder")
    sample.add_argument("--label", type=int, help="class-conditional runs: draw only this class")
    sample.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    sample.add_argument(
        "--truncation", type=float, help="pull the noise toward its mean: z * PSI, PSI in [0, 1] (1 = off)"
    )

    walk = sub.add_parser(
        "interpolate",
        help="an animated walk through the latent space between seeds",
        formatter_class=formatter,
        epilog="examples:\n  ganforge interpolate runs/demo --seeds 1,5,9 --frames 48 --out walk.gif\n"
        "  ganforge interpolate runs/demo --seeds 0,1,2,0 --rows 4 --truncation 0.7 --out walks.gif\n"
        "  ganforge interpolate runs/cond --seeds 3,4 --label 7 --out sevens.mp4   (.mp4: imageio-ffmpeg)\n"
        "  ganforge interpolate runs/cond --seeds 3,4,5 --labels 1,7,9 --out one-seven-nine.gif\n",
    )
    walk.add_argument("run", type=Path, help="run directory or checkpoint file")
    walk.add_argument(
        "--seeds", required=True, help="comma-separated noise seeds to pass through, e.g. 1,5,9"
    )
    walk.add_argument("--frames", type=int, default=48, help="frames in the whole walk (default 48)")
    walk.add_argument(
        "--rows", type=int, default=1, help="walks stacked in each frame, each through its own seeds"
    )
    walk.add_argument("--out", type=Path, required=True, help=".gif, or .mp4 with imageio-ffmpeg")
    walk.add_argument("--fps", type=float, default=12.0, help="frames per second (default 12)")
    walk.add_argument("--truncation", type=float, help="z * PSI, PSI in [0, 1] (1 = off)")
    walk.add_argument("--label", type=int, help="class-conditional runs: walk within this class")
    walk.add_argument(
        "--labels", help="class-conditional runs: one class per seed, e.g. 3,8: blend between them"
    )
    walk.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")
    walk.add_argument("--device", default="auto", help="auto (default), cpu, cuda")

    anim = sub.add_parser(
        "animate",
        help="animated GIF of a run's sample grids",
        formatter_class=formatter,
        epilog="example:\n  ganforge animate runs/demo --out progress.gif\n",
    )
    anim.add_argument("run", type=Path, help="run directory")
    anim.add_argument("--out", type=Path, help="GIF path (default RUN/progress.gif)")
    anim.add_argument("--seconds-per-frame", type=float, default=0.5, help="frame duration (default 0.5)")

    ev = sub.add_parser(
        "eval",
        help="quality metrics of a run (or images) against a reference set",
        formatter_class=formatter,
        epilog="examples:\n  ganforge eval runs/demo --against mnist:test --n 10000\n"
        "  ganforge eval samples.npy --against mnist:test --json result.json\n"
        "  ganforge eval runs/fashion --against fashion-mnist:test --n 5000 --seed 1\n"
        "  ganforge eval runs/a --against mnist:test --save-reference ref.pt\n"
        "  ganforge eval runs/b --against ref.pt\n",
    )
    ev.add_argument("target", type=Path, help="run directory, checkpoint, .npy of uint8 images, or a folder")
    ev.add_argument(
        "--against",
        required=True,
        help="mnist:test, fashion-mnist:test (or :train), twemoji, a folder, or a file of --save-reference",
    )
    ev.add_argument("--save-reference", type=Path, help="also save the reference statistics to this file")
    ev.add_argument("--n", type=int, default=10000, help="generated images to evaluate (default 10000)")
    ev.add_argument("--seed", type=int, default=0, help="noise and subset seed (default 0)")
    ev.add_argument("--extractor", help="feature extractor (default: the reference dataset's classifier)")
    ev.add_argument("--json", type=Path, help="also write the record to this file")
    ev.add_argument("--truncation", type=float, help="runs: draw with the noise scaled by PSI in [0, 1]")
    ev.add_argument(
        "--image-size", type=int, default=64, help="size folders are loaded at for RGB extractors"
    )

    proj = sub.add_parser(
        "project",
        help="find the noise (and label) whose generated image is closest to a given image",
        formatter_class=formatter,
        epilog="examples:\n  ganforge project digit.png runs/demo --out projected/\n"
        "  ganforge project face.png runs/faces --steps 500 --starts 16 --out projected-face/\n",
    )
    proj.add_argument("image", type=Path, help="the image to reconstruct (PNG, JPEG, ...)")
    proj.add_argument("run", type=Path, help="run directory or checkpoint file")
    proj.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    proj.add_argument("--steps", type=int, default=300, help="Adam steps on the noise (default 300)")
    proj.add_argument("--starts", type=int, default=8, help="random starts optimised together (default 8)")
    proj.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    proj.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")

    exp = sub.add_parser(
        "export",
        help="the generator as ONNX + safetensors with a model card, loadable without the run",
        formatter_class=formatter,
        epilog="examples:\n  ganforge export runs/demo --out exported/demo\n"
        "  ganforge export runs/demo --checkpoint runs/demo/checkpoints/best.pt --out exported/best\n",
    )
    exp.add_argument("run", type=Path, help="run directory or checkpoint file")
    exp.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")
    exp.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")

    rep = sub.add_parser(
        "report",
        help="one self-contained HTML file telling a run's story (also for a run in progress)",
        formatter_class=formatter,
        epilog="examples:\n  ganforge report runs/demo\n  ganforge report runs/demo --out demo.html --open\n",
    )
    rep.add_argument("run", type=Path, help="run directory")
    rep.add_argument("--out", type=Path, help="HTML file to write (default RUN/report.html)")
    rep.add_argument("--open", action="store_true", help="open it in the default browser")

    srv = sub.add_parser(
        "serve",
        help="a local web page to draw from a run's generator (seeds, classes, truncation, walks)",
        formatter_class=formatter,
        epilog="examples:\n  ganforge serve runs/demo\n  ganforge serve runs/demo --port 8080\n"
        "  ganforge serve runs/demo --host 0.0.0.0 --port 7860\n",
    )
    srv.add_argument("run", type=Path, help="run directory")
    srv.add_argument("--port", type=int, default=7860, help="TCP port (default 7860; 0 picks a free one)")
    srv.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    srv.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")

    prep = sub.add_parser(
        "prepare",
        help="decode a folder of images once into a sharded uint8 store (data larger than memory)",
        formatter_class=formatter,
        epilog="examples:\n  ganforge prepare ./faces --size 64 --out data/faces64\n"
        "  ganforge train data/faces64 --preset dcgan64 --epochs 10\n"
        "  ganforge prepare ./scans --size 128 --channels 1 --shard-size 5000 --out data/scans128\n",
    )
    prep.add_argument("folder", type=Path, help="folder of images (searched recursively)")
    prep.add_argument("--out", type=Path, required=True, help="store directory (re-run to resume)")
    prep.add_argument("--size", type=int, default=64, help="square image side (default 64)")
    prep.add_argument("--channels", type=int, default=3, help="3 (RGB, default) or 1 (grayscale)")
    prep.add_argument("--shard-size", type=int, default=10_000, help="images per shard (default 10000)")
    prep.add_argument("--workers", type=int, help="decoding processes (default: all cores)")

    sub.add_parser(
        "presets",
        help="list the named presets",
        epilog="example:\n  ganforge presets\n",
        formatter_class=formatter,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ganforge`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    commands = {
        "train": cmd_train,
        "sample": cmd_sample,
        "animate": cmd_animate,
        "eval": cmd_eval,
        "report": cmd_report,
        "serve": cmd_serve,
        "prepare": cmd_prepare,
        "presets": cmd_presets,
        "interpolate": cmd_interpolate,
        "export": cmd_export,
        "project": cmd_project,
    }
    try:
        return commands[args.command](args)
    except UserError as exc:
        # One line even when a file name or a key in the message holds a newline.
        print(f"ganforge: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130


def cmd_train(args: argparse.Namespace) -> int:
    """``ganforge train``."""
    if args.nproc is not None:
        if distributed.launched():
            raise UserError("--nproc starts torchrun itself; under torchrun leave it out")
        if args.nproc < 1:
            raise UserError(f"--nproc must be at least 1, got {args.nproc}")
        if args.nproc > 1:
            status = distributed.torchrun(args.nproc, _without_nproc(args.argv))
            run_dir = args.resume or args.out or "RUN_DIR"
            if status == 130:
                print(f"stopped by Ctrl-C; continue with: ganforge train --resume {run_dir}", file=sys.stderr)
            elif status:
                print(
                    f"ganforge: error: torchrun exited with status {status} (a process failed, see above); "
                    f"continue from the last checkpoint with: ganforge train --resume {run_dir}",
                    file=sys.stderr,
                )
            return status
    overrides = {field: getattr(args, _dest(flag)) for flag, (field, _, _) in TRAIN_FLAGS.items()}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.resume:
        if args.data or args.preset or args.config or args.out:
            raise UserError(
                "--resume continues a run as it was configured; drop DATA/--preset/--config/--out"
            )
        changed = sorted(set(overrides) - set(BUDGET))
        if changed:
            raise UserError(
                f"only the budget (--epochs/--steps/--minutes) can change on resume, not {changed[0]}"
            )
        cfg = RunConfig.load(args.resume / "config.json") if (args.resume / "config.json").is_file() else None
        if cfg is None:
            raise UserError(f"nothing to resume: {args.resume} has no config.json")
        _apply(cfg, overrides)
        run = TrainingRun(cfg, args.resume, resume=True, show_progress=not args.quiet)
    else:
        if args.preset and args.config:
            raise UserError("give either --preset or --config, not both")
        source = _data_source(args.data) if args.data else None
        if args.config or args.preset:
            cfg = RunConfig.load(args.config) if args.config else get_preset(args.preset)
            cfg.data.source = source or cfg.data.source
        else:
            shape = overrides.get("data.channels"), overrides.get("data.image_size")
            cfg = default_preset(source or "mnist", *shape)
        _apply(cfg, overrides)
        out = args.out or default_run_dir(cfg.preset)
        run = TrainingRun(cfg, out, show_progress=not args.quiet)
        if not args.quiet and run.world.main:
            processes = f" as {run.world.size} processes" if run.world.size > 1 else ""
            print(
                f"training {cfg.preset} on {run.data.name} ({len(run.data)} images){processes} into {out}",
                file=sys.stderr,
            )
    state = run.fit()
    # Under `--nproc` the wrapper reports a Ctrl-C itself; torchrun's agent must see a clean exit.
    interrupted = 130 if run.stop_signal == "SIGINT" and not os.environ.get(distributed.WRAPPED) else 0
    if not run.world.main:
        return interrupted
    partial = f" + {state.batch_in_epoch} batches" if state.batch_in_epoch else ""
    print(
        f"done: step {state.step} ({state.epoch} epochs{partial}), {state.elapsed:.0f}s trained; "
        f"run directory {run.run_dir}"
    )
    return interrupted


def cmd_sample(args: argparse.Namespace) -> int:
    """``ganforge sample``."""
    if args.n <= 0:
        raise UserError(f"--n must be positive, got {args.n}")
    truncate(torch.zeros(1), args.truncation)  # a bad value is refused before the checkpoint is read
    generator, cfg, _ = load_generator(args.checkpoint or args.run, resolve_device(args.device))
    noise = truncate(seeded_noise(args.seed, args.n, generator.latent_dim), args.truncation)
    _check_label(cfg, args.label)
    labels = None if args.label is None else torch.full((args.n,), args.label, dtype=torch.long)
    print(f"wrote {write_samples(generate(generator, noise, labels), args.out)}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    """``ganforge interpolate``."""
    seeds = parse_seeds(args.seeds)
    truncate(torch.zeros(1), args.truncation)
    if args.frames < 2 or args.rows < 1 or args.fps <= 0:
        raise UserError("--frames must be at least 2, --rows at least 1 and --fps positive")
    if Path(args.out).suffix.lower() not in WALK_FORMATS or not Path(args.out).parent.is_dir():
        save_animation([], args.out)  # raises the one-line reason before any work
    generator, cfg, _ = load_generator(args.checkpoint or args.run, resolve_device(args.device))
    _check_label(cfg, args.label)
    labels = None
    if args.labels is not None:
        if not cfg.model.conditional:
            raise UserError("--labels needs a class-conditional run (trained with --conditional true)")
        labels = parse_labels(args.labels, len(seeds), cfg.model.num_classes)
    frames = walk_frames(generator, seeds, args.frames, args.rows, args.truncation, args.label, labels)
    save_animation(frames, args.out, args.fps)
    print(f"wrote {args.out}: {args.frames} frames, {args.rows} walk(s) through seeds {seeds}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``ganforge export``."""
    from ganforge.export import export_run  # imported on use: onnx is an optional extra

    done = export_run(args.run, args.out, args.checkpoint)
    print(
        f"exported step {done.step} to {done.out}/ (generator.onnx, generator.safetensors, config.json, "
        f"README.md, samples.png); onnxruntime vs PyTorch: largest difference {done.max_abs_diff:.2g}"
    )
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    """``ganforge project``."""
    from ganforge.projection import load_image, project

    if args.steps < 1 or args.starts < 1:
        raise UserError("--steps and --starts must be positive")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UserError(f"--out {args.out} exists and is not an empty folder; choose a new one")
    generator, cfg, _ = load_generator(args.checkpoint or args.run, torch.device("cpu"))
    target = load_image(args.image, cfg.data.channels, cfg.data.image_size)
    result = project(generator, cfg, target, args.steps, args.starts, seed=args.seed)
    scale = max(1, 96 // cfg.data.image_size)
    with atomic_folder(args.out) as work:
        save_png(make_grid(target, scale=scale), work / "target.png")
        save_png(make_grid(result.reconstruction, scale=scale), work / "reconstruction.png")
        frames = [make_grid(torch.cat([target, frame]), nrow=2, scale=scale) for frame in result.frames]
        save_animation(frames, work / "progress.gif", fps=8)
        np.save(work / "z.npy", result.z.numpy())
        if result.label is not None:
            (work / "label.txt").write_text(f"{result.label}\n")
    label = f", label {result.label}" if result.label is not None else ""
    print(
        f"wrote {args.out}/ (target.png, reconstruction.png, progress.gif, z.npy{label and ', label.txt'}): "
        f"pixel RMSE {result.pixel_rmse:.3f}{label} against {result.random_rmse:.3f} for random samples "
        f"(pixels in [-1, 1]; feature loss: {result.feature})"
    )
    return 0


def _check_label(cfg: RunConfig, label: int | None) -> None:
    if label is None:
        return
    if not cfg.model.conditional:
        raise UserError("--label needs a class-conditional run (trained with --conditional true)")
    if not 0 <= label < cfg.model.num_classes:
        raise UserError(f"--label must be in 0..{cfg.model.num_classes - 1}, got {label}")


def cmd_animate(args: argparse.Namespace) -> int:
    """``ganforge animate``."""
    if not args.run.is_dir():
        raise UserError(f"run directory {args.run} does not exist")
    out = args.out or args.run / "progress.gif"
    frames = animate(args.run / "samples", out, args.seconds_per_frame)
    print(f"wrote {out} ({frames} frames)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """``ganforge eval``."""
    from ganforge.metrics import evaluate as ev  # imported on use: train/sample do not need it

    if args.n < 2:
        raise UserError(f"--n must be at least 2, got {args.n}")
    if not args.target.exists():
        raise UserError(f"{args.target} does not exist")
    cached = ev.Reference.load(Path(args.against)) if args.against.endswith(".pt") else None
    ref_name = cached.name if cached else args.against
    extractor = get_extractor(args.extractor or default_extractor(ref_name.split(":")[0]))
    channels, size, _ = extractor.image_shape
    shape = (channels, size, size) if size else (channels, args.image_size, args.image_size)
    if args.truncation is not None and args.target.suffix == ".npy":
        raise UserError("--truncation applies to a run or checkpoint, not to an array of images")
    truncate(torch.zeros(1), args.truncation)
    images, requested, info = ev.load_target(args.target, args.n, args.seed, shape, args.truncation)
    if cached is None:
        data, ref_name = ev.load_reference(args.against, tuple(images.shape[1:]))
        cached = ev.build_reference(data, ref_name, extractor)
    if args.save_reference:
        cached.save(args.save_reference)
    train = ev.training_split(ref_name)
    record = ev.evaluate(images, cached, extractor, args.seed, requested, train=train)
    record["provenance"] = {**info, "reference": ref_name, **record["provenance"]}
    print(ev.format_table(record))
    if args.json:
        write_atomic(args.json, (json.dumps(record, indent=2) + "\n").encode())
    if "step" in info and (args.target / "metrics.jsonl").is_file():
        append_line(args.target / "metrics.jsonl", {"step": info["step"], "eval": record})
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``ganforge report``."""
    from ganforge.report import write_report

    done = write_report(args.run, args.out)
    missing = f"; it lists {len(done.problems)} missing or damaged file(s)" if done.problems else ""
    print(f"wrote {done.path} ({done.size / 1e6:.1f} MB, self-contained){missing}")
    if args.open:
        import webbrowser

        webbrowser.open(done.path.resolve().as_uri())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``ganforge serve``."""
    from ganforge.serve import serve

    device = str(resolve_device(args.device))
    serve(args.run, args.host, args.port, device, say=lambda line: print(line, flush=True))
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """``ganforge prepare``."""
    from ganforge.data.store import prepare

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    manifest = prepare(
        args.folder,
        args.out,
        args.size,
        args.channels,
        args.shard_size,
        args.workers,
        report=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(
        f"wrote {args.out}: {manifest['images']} images in {len(manifest['shards'])} shards, "
        f"{len(manifest['skipped'])} skipped, {manifest['prepared']['files_per_s']:.0f} files/s "
        f"with {manifest['prepared']['workers']} workers"
    )
    return 0


def cmd_presets(_args: argparse.Namespace) -> int:
    """``ganforge presets``."""
    width = max(len(name) for name in PRESETS)
    for name, preset in PRESETS.items():
        print(f"{name:<{width}}  {preset.description}")
    print(
        f"\nwithout --preset: {GRAY_DEFAULT} for mnist, fashion-mnist and grayscale images up to 64 px; "
        f"{COLOUR_DEFAULT} for twemoji and colour (or larger) folders and stores"
    )
    return 0


def _data_source(data: str) -> str:
    if data in BUILTIN or Path(data).is_dir():
        return data
    raise UserError(f"DATA '{data}' is neither a dataset ({', '.join(BUILTIN)}) nor an existing folder")


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def _parse_bool(text: str) -> bool:
    value = {
        "1": True,
        "true": True,
        "yes": True,
        "on": True,
        "0": False,
        "false": False,
        "no": False,
        "off": False,
    }
    if text.lower() not in value:
        raise argparse.ArgumentTypeError(f"expected true/false, got '{text}'")
    return value[text.lower()]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _apply(cfg: RunConfig, overrides: dict[str, Any]) -> None:
    if any(field in overrides for field in BUDGET):
        # A budget given on the command line replaces the preset's budget rather than adding to it.
        cfg.train.epochs = cfg.train.steps = cfg.train.minutes = None
    for field, value in overrides.items():
        *parents, leaf = field.split(".")
        target = cfg
        for name in parents:
            target = getattr(target, name)
        setattr(target, leaf, value)
