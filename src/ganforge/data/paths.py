"""Where ganforge keeps files that outlive a run (datasets, decoded-image caches)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$GANFORGE_CACHE``, else ``$XDG_CACHE_HOME/ganforge``, else ``~/.cache/ganforge``."""
    if env := os.environ.get("GANFORGE_CACHE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganforge"


def downloads_allowed() -> bool:
    """False when ``GANFORGE_OFFLINE=1``: tests and air-gapped machines never touch the network."""
    return os.environ.get("GANFORGE_OFFLINE", "") not in ("1", "true", "yes")
