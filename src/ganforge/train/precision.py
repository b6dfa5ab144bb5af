"""Numeric precision and memory layout of a training step: bf16 autocast and channels-last.

``auto`` picks bf16 autocast where the hardware multiplies bf16 natively (CUDA GPUs that support it,
CPUs with AVX512-BF16 or AMX) and fp32 elsewhere: emulated bf16 is slower than fp32. Apple's GPU (MPS)
trains in fp32 under ``auto``: its autocast support has differed from CUDA's from release to release.
Autocast keeps the weights, optimiser state and losses in fp32; only matrix products and convolutions
run in bf16.
"""

from __future__ import annotations

import contextlib
import typing

import torch
from torch import nn

from ganforge.config import Precision
from ganforge.errors import UserError


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` has bf16 matrix units (so autocast to bf16 is a speed-up, not an emulation)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        return bool(
            getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(cpu, "_is_amx_tile_supported", lambda: False)()
        )
    return False


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for a precision name on a device (None = plain fp32).

    Raises:
        UserError: an unknown name.
    """
    if name not in typing.get_args(Precision):
        raise UserError(f"unknown precision '{name}'; choose one of: {', '.join(typing.get_args(Precision))}")
    if name == "bf16" or (name == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


def autocast(
    device: torch.device, dtype: torch.dtype | None, cache: bool = True
) -> torch.autocast | contextlib.nullcontext:
    """Autocast to ``dtype`` on ``device``; nothing for None (so a device whose autocast this PyTorch does
    not know, such as MPS in older releases, is never asked). ``cache=False`` re-casts weights at every
    use (needed while capturing CUDA graphs, where a cached cast would be missing from the graph)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=cache)


def has_convolutions(module: nn.Module) -> bool:
    """Whether a network has convolutions (channels-last only pays off for those)."""
    return any(isinstance(m, nn.modules.conv._ConvNd) for m in module.modules())
