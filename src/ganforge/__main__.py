"""``python -m ganforge`` (also what torchrun starts)."""

import os
import sys

from ganforge.cli import main
from ganforge.train import distributed

code = main()
if distributed.launched():
    # After the process group is gone, gloo's worker threads can still abort the interpreter's
    # finalisation ("terminate called without an active exception", about 1 run in 10 here): everything
    # is written, fsynced and flushed by now, so a torchrun worker skips finalisation.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
