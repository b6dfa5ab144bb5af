"""Where a run's wall-clock goes: training steps against everything else (callbacks, grids, plots, saves).

    python benchmarks/loop_overhead.py OUT [--preset keras-gan-mlp] [--steps 30000]

Trains the preset through ``TrainingRun`` (the code ``ganforge train`` runs) with the trainer's ``step``
and every callback hook timed; prints the totals and the slowest callbacks, and writes them to
OUT/overhead.json. "Outside steps" is the fit's wall-clock minus the time inside ``Trainer.step``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from ganforge.presets import get_preset
from ganforge.train.run import TrainingRun
from ganforge.train.trainer import Trainer

HOOKS = ("on_train_begin", "on_step_end", "on_epoch_end", "on_train_end", "on_restore")


def _timed(fn, totals, key):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--preset", default="keras-gan-mlp")
    parser.add_argument("--steps", type=int, default=30000)
    args = parser.parse_args()
    cfg = get_preset(args.preset)
    cfg.train.epochs, cfg.train.minutes, cfg.train.steps = None, None, args.steps
    totals: dict[str, float] = defaultdict(float)
    Trainer.step = _timed(Trainer.step, totals, "Trainer.step")
    run = TrainingRun(cfg, args.out, show_progress=False)
    callbacks = run.callbacks()
    for callback in callbacks:
        for hook in HOOKS:
            name = f"{type(callback).__name__}.{hook}"
            setattr(callback, hook, _timed(getattr(callback, hook), totals, name))
    run.callbacks = lambda: callbacks
    start = time.perf_counter()
    state = run.train()
    wall = time.perf_counter() - start
    outside = wall - totals["Trainer.step"]
    result = {
        "preset": args.preset,
        "steps": state.step,
        "wall_s": round(wall, 1),
        "steps_s": round(totals["Trainer.step"], 1),
        "outside_steps_s": round(outside, 1),
        "callbacks_s": {k: round(v, 2) for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if "." in k},
    }
    (args.out / "overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.preset}: {state.step} steps in {wall:.0f} s: "
        f"{totals['Trainer.step']:.0f} s in training steps, "
        f"{outside:.0f} s outside them ({outside / wall:.0%})"
    )
    for name, seconds in list(result["callbacks_s"].items())[:8]:
        print(f"  {name:<40} {seconds:8.1f} s")


if __name__ == "__main__":
    main()
