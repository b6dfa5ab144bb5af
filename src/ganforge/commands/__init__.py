"""The sub-commands of ``ganforge``: one module each, with ``add_parser(subparsers)`` and ``run(args)``.

A command's options sit beside the code that reads them; the libraries they call (training, export,
report, serve, inversion, the prepared store, the metrics) know nothing of argparse. To add a command:
write ``commands/<name>.py`` with ``NAME``, ``EXAMPLES``, ``add_parser`` and ``run``, and list it in
:data:`COMMANDS` (``tests/test_cli.py`` runs every example through the real parser).
"""

from ganforge.commands import (
    animate,
    eval,
    export,
    interpolate,
    prepare,
    presets,
    project,
    report,
    sample,
    serve,
    train,
)

COMMANDS = (train, sample, interpolate, animate, eval, project, export, report, serve, prepare, presets)

__all__ = ["COMMANDS"]
