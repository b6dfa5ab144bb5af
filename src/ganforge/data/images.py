"""The in-memory form every dataset takes: one uint8 tensor of images (N, C, H, W) plus labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ganforge.errors import UserError


@dataclass
class ImageData:
    """A dataset held as one uint8 tensor, normalised to [-1, 1] only per batch on the device.

    Attributes:
        images: uint8 tensor shaped (N, C, H, W); may wrap a read-only memory map.
        labels: int64 tensor shaped (N,), or None when the data has no classes.
        name: a short description for logs ("mnist:train", a folder path, ...).
        class_names: names of the label values, when known.
        skipped: files that could not be read (image folders only).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    class_names: list[str] | None = None
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def subset(self, limit: int | None) -> ImageData:
        """The first ``limit`` images (all of them when limit is None)."""
        if limit is None or limit >= len(self):
            return self
        labels = None if self.labels is None else self.labels[:limit]
        return ImageData(self.images[:limit], labels, self.name, self.class_names, self.skipped)


def from_numpy_nhwc(array: np.ndarray) -> torch.Tensor:
    """(N, H, W) or (N, H, W, C) uint8 array -> (N, C, H, W) uint8 tensor without a copy where possible."""
    if array.ndim == 3:
        array = array[:, :, :, None]
    tensor = torch.from_numpy(array) if array.flags.writeable else torch.from_numpy(np.array(array))
    return tensor.permute(0, 3, 1, 2)


def to_unit_range(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 images -> float32 in [-1, 1] on ``device`` (the copy moves bytes, not floats)."""
    batch = batch.to(device, non_blocking=True)
    return batch.float().mul_(1 / 127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 [0, 255] on the CPU, rounded, same layout."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def as_image_data(data: ImageData | torch.Tensor | np.ndarray) -> ImageData:
    """Accept an :class:`ImageData` or uint8 images shaped (N, C, H, W) or (N, H, W)."""
    if isinstance(data, ImageData):
        return data
    tensor = torch.as_tensor(data)
    if tensor.dtype != torch.uint8:
        raise UserError(f"images must be uint8 in [0, 255], got {tensor.dtype}")
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.ndim != 4:
        raise UserError(f"images must be shaped (N, C, H, W) or (N, H, W), got {tuple(tensor.shape)}")
    return ImageData(tensor, None, "tensor")
