"""CUDA graphs for the training step: each update's forward and backward captured once, then replayed.

A small GAN's step on a GPU is bound by the host issuing several hundred kernels, not by the kernels
(``benchmarks/profile_step.py``: ``tf-dcgan-mnist`` on an H100 issued a step in 9.9 ms of host time for
4.3 ms of kernels). Replaying a captured graph issues them all in one call.

What is captured is a pure function of tensors: random draws (noise, labels, noisy targets, interpolation
weights) happen outside and come in as inputs, gradients come back as outputs (``autograd.grad``, not
``.grad``, so that two graphs never share a gradient buffer), and the optimiser steps run eagerly after
the replay (fused Adam: a few kernels). Dropout inside the networks draws from the default CUDA generator,
which graphs advance correctly on every replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.errors import UserError
from ganforge.train import distributed

Inputs = dict[str, torch.Tensor | None]
Outputs = tuple[dict[str, torch.Tensor], dict[str, list[torch.Tensor | None]]]
UpdateFn = Callable[..., Outputs]


def graphs_allowed(cfg: TrainConfig, device: torch.device) -> bool:
    """Whether a run's updates may be captured: ``--cuda-graphs`` on one GPU in one process (DDP's
    gradient hooks fire in backward, outside any graph)."""
    return cfg.cuda_graphs and device.type == "cuda" and not distributed.active()


class _Captured:
    """One update captured for one set of input shapes: static inputs, the graph, static outputs."""

    def __init__(self, fn: UpdateFn, inputs: Inputs, modules: list[nn.Module], warmup: int) -> None:
        self.inputs = {k: None if v is None else v.clone() for k, v in inputs.items()}
        # Warm-up runs (cuDNN algorithm choice, lazy allocations) must not move BatchNorm statistics.
        buffers = [b for m in modules for b in m.buffers()]
        saved = [b.clone() for b in buffers]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                fn(**self.inputs)
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():
            for buffer, value in zip(buffers, saved, strict=True):
                buffer.copy_(value)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = fn(**self.inputs)

    def replay(self, inputs: Inputs) -> Outputs:
        for key, value in inputs.items():
            static = self.inputs[key]
            if static is not None and value is not None:
                static.copy_(value)
        self.graph.replay()
        stats, grads = self.outputs
        # Stats are read later (every --log-every steps); the next replay would overwrite them.
        return {k: v.clone() for k, v in stats.items()}, grads


class StepGraphs:
    """Captures each named update once per input shapes, on first use, and replays it afterwards.

    Args:
        modules: every network the updates run (their buffers are restored after warm-up).
        warmup: eager runs on a side stream before capture, as ``torch.cuda.graphs`` asks.

    Raises:
        UserError: capturing failed (the networks do something graphs do not allow, such as reading a
            value on the host). The process's CUDA state is not trusted after a failed capture, so there
            is no silent fallback: the message says to train without graphs.
    """

    def __init__(self, modules: list[nn.Module], warmup: int = 3) -> None:
        self.modules = modules
        self.warmup = warmup
        self._captured: dict[tuple[Any, ...], _Captured] = {}

    def run(self, name: str, fn: UpdateFn, inputs: Inputs) -> Outputs:
        """``fn(**inputs)`` through its captured graph (captured now if this is its first call)."""
        key = (name, *((k, None if v is None else (tuple(v.shape), v.stride())) for k, v in inputs.items()))
        if key not in self._captured:
            try:
                self._captured[key] = _Captured(fn, inputs, self.modules, self.warmup)
            except RuntimeError as error:
                raise UserError(
                    f"CUDA graph capture of the {name} update failed ({str(error).splitlines()[0]}); "
                    "train without graphs: --cuda-graphs false (TrainConfig(cuda_graphs=False))"
                ) from error
        return self._captured[key].replay(inputs)
