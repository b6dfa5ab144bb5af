"""Callbacks: what happens around the training loop (logs, grids, checkpoints, plots, health, quality).

Each hook receives the loop's :class:`~ganforge.train.context.TrainingContext`: ``ctx.state`` says where
training is and ``ctx.stop_training = True`` ends it after the current step. Callbacks never see the
loop's or the trainer's internals. One callback (or a close family) per module; a new one subclasses
:class:`Callback` (``base.py``) and, if ``ganforge train`` should use it, joins ``train/build.py``.
"""

from ganforge.train.callbacks.base import Callback, EarlyStopping, LambdaCallback
from ganforge.train.callbacks.checkpoints import Checkpointer
from ganforge.train.callbacks.grids import ImageGrid
from ganforge.train.callbacks.logging import MetricsLogger
from ganforge.train.callbacks.plots import LossPlot

__all__ = [
    "Callback",
    "Checkpointer",
    "EarlyStopping",
    "ImageGrid",
    "LambdaCallback",
    "LossPlot",
    "MetricsLogger",
]
