"""ganforge: train, watch, measure and use GANs on images.

The Python API mirrors how the tutorials are written::

    import ganforge
    gan = ganforge.GAN(generator, discriminator, loss="nonsaturating")
    gan.fit(images, epochs=5, batch_size=64, callbacks=[ganforge.ImageGrid("grids/")])
    pictures = gan.generate(16)

``ganforge.train_preset("tf-dcgan-mnist", out="runs/x", epochs=5)`` does what ``ganforge train`` does and
returns the trained :class:`GAN`; ``ganforge.GAN.from_run("runs/x")`` brings any run back as one.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.config import (
    DataConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    ScheduleConfig,
    TrainConfig,
    with_overrides,
)
from ganforge.data import ImageData, load_data
from ganforge.errors import UserError
from ganforge.gan import GAN, TrainState
from ganforge.losses import LOSSES
from ganforge.models import MODELS, build_models, register_model
from ganforge.presets import PRESETS, get_preset
from ganforge.train.callbacks import (
    Callback,
    Checkpointer,
    EarlyStopping,
    ImageGrid,
    LambdaCallback,
    LossPlot,
    MetricsLogger,
)
from ganforge.train.callbacks.health import DivergenceGuard, HealthMonitor, TrainingDiverged
from ganforge.train.callbacks.tensorboard import TensorBoard
from ganforge.train.context import TrainingContext
from ganforge.train.run import TrainingRun
from ganforge.train.schedule import Schedule
from ganforge.version import __version__

__all__ = [
    "GAN",
    "LOSSES",
    "MODELS",
    "PRESETS",
    "Callback",
    "Checkpointer",
    "DataConfig",
    "DivergenceGuard",
    "EarlyStopping",
    "HealthMonitor",
    "ImageData",
    "ImageGrid",
    "LambdaCallback",
    "LossPlot",
    "MetricsLogger",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "Schedule",
    "ScheduleConfig",
    "TensorBoard",
    "TrainConfig",
    "TrainState",
    "TrainingContext",
    "TrainingDiverged",
    "UserError",
    "__version__",
    "build_models",
    "get_preset",
    "load_data",
    "load_exported",
    "register_model",
    "train_preset",
    "with_overrides",
]


def load_exported(folder: str | Path) -> torch.nn.Module:
    """The generator of a folder written by ``ganforge export`` (safetensors + config.json), in eval mode.

    It maps noise ``torch.randn(n, generator.latent_dim)`` (and class labels, if conditional) to images in
    [-1, 1]. Needs ``safetensors`` (the ``[export]`` extra). A run directory comes back with
    ``GAN.from_run(path)`` instead.
    """
    from ganforge.export import load_exported as load

    return load(Path(folder))


def train_preset(
    name: str, out: str | Path, *, data: str | None = None, quiet: bool = False, **train_overrides: object
) -> GAN:
    """Train preset ``name`` into run directory ``out``, as ``ganforge train`` does.

    Args:
        name: a preset name (see ``ganforge.PRESETS``).
        out: the run directory.
        data: a dataset name or folder replacing the preset's.
        quiet: no progress output.
        **train_overrides: fields of :class:`TrainConfig` (e.g. ``epochs=5``, ``batch_size=64``); a budget
            replaces the preset's budget.

    Returns:
        The trained :class:`GAN` (``.state`` says where it ended; ``.generate(n)`` draws).
    """
    cfg = get_preset(name)
    if data is not None:
        cfg.data.source = data
    cfg = with_overrides(cfg, {f"train.{key}": value for key, value in train_overrides.items()})
    run = TrainingRun(cfg, Path(out), show_progress=not quiet)
    run.train()
    return GAN.trained_by(run)
