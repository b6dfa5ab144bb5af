"""``ganforge train``: a config from a preset (or a file, or the data's default) and flags, then a run.

Its setting flags are generated from the config's fields (:mod:`ganforge.commands.flags`); the options
here are the command's own: what to train on and from which preset, where to, resume, processes,
``--dry-run``. ``ganforge train --preset X --help`` shows X's values as the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ganforge.commands.common import add_command
from ganforge.commands.flags import add_flags, config_flags, normalise_bools, overrides, show_defaults
from ganforge.config import BUDGET, RunConfig, validate, with_overrides
from ganforge.data import BUILTIN, natural_shape
from ganforge.errors import UserError
from ganforge.platforms import interrupted_by
from ganforge.presets import DEFAULTS_HELP, default_preset, get_preset
from ganforge.train import distributed
from ganforge.train.run import TrainingRun, default_run_dir

NAME = "train"
FLAGS = config_flags()
EXAMPLES = [
    "ganforge train mnist --minutes 5 --out runs/demo      (the fast default: sn-dcgan)",
    "ganforge train twemoji --minutes 30                   (the colour default)",
    "ganforge train stacked-mnist --minutes 10 --eval-every 2000   (1000 modes: coverage as it trains)",
    "ganforge train ./my_images --image-size 64 --augment color,translation,cutout --mirror --steps 20000",
    "ganforge train twemoji --preset r3gan --minutes 30",
    "ganforge train mnist --preset tf-dcgan-mnist --epochs 5",
    "ganforge train --preset keras-gan-mlp --steps 2000",
    "ganforge train fashion-mnist --loss hinge --spectral-norm --ema-decay 0.999 --epochs 3",
    "ganforge train twemoji --preset projected-gan --eval-every 1000 --tensorboard",
    "ganforge train twemoji --augment color,translation --augment-p auto --steps 5000",
    "ganforge train mnist --minutes 5 --dry-run   (prints the config: save it, then --config FILE)",
    "ganforge train --resume runs/demo --epochs 10",
    "ganforge train mnist --nproc 2 --epochs 5 --out runs/two     (2 processes through torchrun)",
    "torchrun --nproc-per-node 4 -m ganforge train ./faces --preset dcgan64 --epochs 20",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``train`` sub-command's parser."""
    p = add_command(subparsers, NAME, "train a GAN", EXAMPLES, add_help=False)
    p.add_argument(
        "-h",
        "--help",
        nargs=0,
        action=_HelpWithDefaults,
        help="show this help (after --preset X: X's values)",
    )
    p.add_argument(
        "data",
        nargs="?",
        help=f"{', '.join(BUILTIN)}, a folder of images or a prepared store (default: mnist)",
    )
    p.add_argument(
        "--preset",
        help=f"named configuration (default: {DEFAULTS_HELP}); see 'ganforge presets'",
    )
    p.add_argument("--config", type=Path, help="a config.json to start from (flags override it)")
    p.add_argument("--out", type=Path, help="run directory (default runs/<preset>-<time>)")
    p.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="continue this run from its last checkpoint"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--nproc", type=int, help="train as N processes on this machine through torchrun (DDP)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resolved config as JSON and where it came from; train nothing",
    )
    add_flags(p, FLAGS)


def normalise_argv(argv: list[str]) -> list[str]:
    """Boolean flags as ``--flag=value`` (see :func:`ganforge.commands.flags.normalise_bools`)."""
    return normalise_bools(argv, FLAGS)


def run(args: argparse.Namespace) -> int:
    """Train, or print the config (``--dry-run``); returns the exit status."""
    if args.nproc is not None and not args.dry_run:
        status = _launch(args)
        if status is not None:
            return status
    given = overrides(args, FLAGS)
    if args.resume:
        return _resume(args, given)
    cfg, origin = resolve(args, given)
    if args.dry_run:
        return _print_config(validate(cfg), origin)
    out = args.out or default_run_dir(cfg.preset)
    run = TrainingRun(cfg, out, show_progress=not args.quiet)
    if not args.quiet and run.world.main:
        processes = f" as {run.world.size} processes" if run.world.size > 1 else ""
        say(f"training {cfg.preset} on {run.data.name} ({len(run.data)} images){processes} into {out}")
    return _finish(run)


def resolve(args: argparse.Namespace, given: dict) -> tuple[RunConfig, str]:
    """The config a new run trains with, and a sentence saying where it came from."""
    if args.preset and args.config:
        raise UserError("give either --preset or --config, not both")
    source = _data_source(args.data) if args.data else None
    if args.config:
        cfg, origin = RunConfig.load(args.config), f"--config {args.config}"
    elif args.preset:
        cfg, origin = get_preset(args.preset), f"preset {args.preset}"
    else:
        shape = given.get("data.channels"), given.get("data.image_size")
        cfg = default_preset(source or "mnist", *shape)
        kind = "grayscale" if cfg.data.channels == 1 else "colour"
        origin = (
            f"preset {cfg.preset}, the default for {source or 'mnist'} ({kind}, {cfg.data.image_size} px)"
        )
    if source:
        cfg.data.source = source
        channels, side = natural_shape(source)
        if side is not None and not args.config:  # a built-in set of one shape: the preset draws it
            cfg.data.channels, cfg.data.image_size = channels, side
    return with_overrides(cfg, given), origin


def _resume(args: argparse.Namespace, given: dict) -> int:
    if args.data or args.preset or args.config or args.out:
        raise UserError("--resume continues a run as it was configured; drop DATA/--preset/--config/--out")
    changed = sorted(set(given) - set(BUDGET))
    if changed:
        raise UserError(
            f"only the budget (--epochs/--steps/--minutes) can change on resume, not {changed[0]}"
        )
    if args.dry_run:
        saved = RunConfig.load(args.resume / "config.json")
        return _print_config(with_overrides(saved, given), f"the run {args.resume}, with a new budget")
    return _finish(TrainingRun.resuming(args.resume, given, show_progress=not args.quiet))


def _finish(run: TrainingRun) -> int:
    state = run.train()
    # Under `--nproc` the wrapper reports a Ctrl-C itself; torchrun's agent must see a clean exit.
    interrupted = 130 if interrupted_by(run.stop_signal) and not os.environ.get(distributed.WRAPPED) else 0
    if run.world.main:
        partial = f" + {state.batch_in_epoch} batches" if state.batch_in_epoch else ""
        print(
            f"done: step {state.step} ({state.epoch} epochs{partial}), {state.elapsed:.0f}s trained; "
            f"run directory {run.run_dir}"
        )
    return interrupted


def _print_config(cfg: RunConfig, origin: str) -> int:
    print(json.dumps(cfg.to_dict(), indent=2))
    say(f"config from {origin}; train it with: ganforge train --config FILE (after saving this output)")
    return 0


def _launch(args: argparse.Namespace) -> int | None:
    """``--nproc N``: start torchrun and return its status (None: one process, train here)."""
    if distributed.launched():
        raise UserError("--nproc starts torchrun itself; under torchrun leave it out")
    if args.nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nproc == 1:
        return None
    status = distributed.torchrun(args.nproc, _without_nproc(args.argv))
    run_dir = args.resume or args.out or "RUN_DIR"
    if status == 130:
        say(f"stopped by Ctrl-C; continue with: ganforge train --resume {run_dir}")
    elif status:
        say(
            f"ganforge: error: torchrun exited with status {status} (a process failed, see above); "
            f"continue from the last checkpoint with: ganforge train --resume {run_dir}"
        )
    return status


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


def _data_source(data: str) -> str:
    if data in BUILTIN or Path(data).is_dir():
        return data
    raise UserError(f"DATA '{data}' is neither a dataset ({', '.join(BUILTIN)}) nor an existing folder")


def say(line: str) -> None:
    """A line for the person at the terminal (stderr: stdout carries --dry-run's JSON)."""
    print(line, file=sys.stderr)


class _HelpWithDefaults(argparse.Action):
    """``--help`` that first fills each flag's default from the preset (or DATA) named before it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values, option=None):
        data = getattr(namespace, "data", None)
        preset = getattr(namespace, "preset", None)
        try:
            cfg = get_preset(preset) if preset else default_preset(data or "mnist")
        except UserError:
            cfg = default_preset("mnist")
        show_defaults(parser, cfg, FLAGS)
        chosen = "" if preset else f" (the default for {data or 'mnist'})"
        parser.description = f"defaults shown: preset {cfg.preset}{chosen}"
        parser.print_help()
        parser.exit()
