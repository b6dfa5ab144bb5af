"""Image sizes the pyramid families draw: s * 2^k, from a smallest map of s = 4..7 pixels up by doublings.

Powers of two start at 4 x 4 (the usual DCGAN pyramid); 28 = 7 * 4 lets the same networks draw
MNIST-sized images without resizing the data.
"""

from __future__ import annotations

from ganforge.errors import UserError

SMALLEST, LARGEST = 16, 256


def pyramid(size: int, family: str) -> list[int]:
    """The resolutions from the smallest map (4..7) up to ``size``, each twice the one before.

    Raises:
        UserError: ``size`` is not s * 2^k with s in 4..7, or lies outside 16..256.
    """
    start = size
    while start > 7 and start % 2 == 0:
        start //= 2
    if not SMALLEST <= size <= LARGEST or not 4 <= start <= 7:
        raise UserError(
            f"model {family} draws sizes s * 2^k from {SMALLEST} to {LARGEST} with s in 4..7 "
            f"(16, 28, 32, 64, 128, 256, ...), not {size}; use --image-size"
        )
    out = [start]
    while out[-1] < size:
        out.append(out[-1] * 2)
    return out
