"""``python -m ganforge`` (also what torchrun starts)."""

import sys

from ganforge.cli import main

sys.exit(main())
