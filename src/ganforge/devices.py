"""Which device trains, and what it can do: CUDA GPUs, Apple's GPU (MPS) and the CPU.

``--device auto`` picks CUDA, then MPS, then the CPU. Each has its own gaps; the known ones on MPS are
handled here rather than met halfway through a run:

- no float64: the metrics keep their float64 statistics on the CPU whatever the training device (the
  extractors run there), and nothing in training uses float64;
- ``torch.vdot`` has been missing: ganforge's spectral normalisation uses an elementwise product and a
  sum instead (``models/spectral.py``), on every device, so the CPU tests exercise the MPS code path;
- double backward (R1, R2, WGAN-GP) has failed in some PyTorch versions: :func:`check_training` tries a
  tiny second-order gradient on the device first and refuses with one line when it is missing;
- bf16 autocast differs from CUDA's: ``--precision auto`` trains fp32 there (see ``train/precision.py``).

DiffAugment shifts images by indexing, not ``grid_sample`` (whose backward MPS has lacked), so it runs
everywhere as it is.
"""

from __future__ import annotations

import torch

from ganforge.errors import UserError


def mps_available() -> bool:
    """Whether this PyTorch can use Apple's GPU (an Apple-Silicon Mac, macOS 12.3 or later)."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else MPS, else the CPU; anything else as torch understands it.

    Raises:
        UserError: an unknown device, or one this machine does not have.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use auto, cpu, cuda[:N] or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device '{name}' asked for, but this PyTorch sees no CUDA GPU; use --device cpu")
    if device.type == "mps" and not mps_available():
        raise UserError(
            f"device '{name}' asked for, but this machine has no Apple GPU (MPS); use --device cpu"
        )
    return device


def metrics_device() -> torch.device:
    """Where the metrics' float64 statistics live: always the CPU (MPS has no float64)."""
    return torch.device("cpu")


def check_training(device: torch.device, second_order: bool) -> None:
    """Refuse, in one line, a run that needs something the device lacks (before anything is trained).

    Args:
        second_order: the run takes gradients of gradients (R1, R2 or WGAN-GP's penalty).
    """
    if second_order and not double_backward_works(device):
        raise UserError(
            f"this PyTorch cannot take gradients of gradients on {device.type} (needed by R1/R2 and the "
            "gradient penalty): train with --device cpu, turn the penalties off, or upgrade PyTorch"
        )


def double_backward_works(device: torch.device) -> bool:
    """Whether a conv's input gradient is itself differentiable on ``device`` (what R1 needs)."""
    try:
        conv = torch.nn.Conv2d(1, 2, 3, padding=1).to(device)
        x = torch.randn(1, 1, 6, 6, device=device, requires_grad=True)
        (grad,) = torch.autograd.grad(torch.nn.functional.avg_pool2d(conv(x), 2).sum(), x, create_graph=True)
        grad.pow(2).sum().backward()
        return conv.weight.grad is not None and bool(torch.isfinite(conv.weight.grad).all())
    except (RuntimeError, NotImplementedError):
        return False
