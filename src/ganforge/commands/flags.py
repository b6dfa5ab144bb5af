"""``ganforge train``'s setting flags, generated from the config dataclasses' fields.

Each field of :mod:`ganforge.config.fields` carries its help and (optionally) its flag name; this
module turns them into argparse options, so a new setting needs no code here. Names follow the
field's path: ``train.batch_size`` -> ``--batch-size``, ``train.g_optim.lr`` -> ``--lr-g``,
``train.schedule.final_lr`` -> ``--schedule-final-lr``, unless the field names its flag.

Booleans work bare (``--tensorboard``), negated (``--no-tensorboard``) or with a value
(``--tensorboard false``); :func:`normalise_bools` rewrites all three to ``--flag=value`` before
argparse sees them, so a bare flag never swallows the word after it.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ganforge.config import RunConfig, get_path

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Flag:
    """One generated option: its name, the dotted config path it sets, the field's type and help."""

    name: str
    path: str
    hint: Any
    help: str

    @property
    def dest(self) -> str:
        """The argparse attribute: the dotted path with dots as double underscores."""
        return self.path.replace(".", "__")

    @property
    def is_bool(self) -> bool:
        return _base(self.hint) is bool


def config_flags() -> list[Flag]:
    """Every flag, in the dataclasses' order (data, model, train)."""
    return list(_walk(RunConfig, ""))


def unflagged() -> dict[str, str]:
    """The settings without a flag, by dotted path, with the reason each gives."""
    return dict(_reasons(RunConfig, ""))


def _walk(cls: type, prefix: str) -> Iterator[Flag]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _walk(hints[f.name], f"{path}.")
        elif f.metadata.get("flag") is not None:
            yield Flag(f.metadata["flag"] or _derived(path), path, hints[f.name], f.metadata.get("help", ""))


def _reasons(cls: type, prefix: str) -> Iterator[tuple[str, str]]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _reasons(hints[f.name], f"{prefix}{f.name}.")
        elif f.metadata.get("flag", "") is None:
            yield f"{prefix}{f.name}", f.metadata.get("why", "")


def _derived(path: str) -> str:
    parts = path.split(".")
    name = parts[-1].replace("_", "-")
    if len(parts) == 3 and parts[1] in ("g_optim", "d_optim"):
        return f"--{name}-{parts[1][0]}"  # train.g_optim.lr -> --lr-g
    if len(parts) == 3:
        return f"--{parts[1].replace('_', '-')}-{name}"  # train.schedule.final_lr -> --schedule-final-lr
    return f"--{name}"


def add_flags(parser: argparse.ArgumentParser, flags: list[Flag]) -> None:
    """Add every flag to ``parser`` (default None: a flag not given leaves the config as it is)."""
    group = parser.add_argument_group("settings (each sets one field of config.json)")
    for flag in flags:
        metavar = _metavar(flag.hint)
        group.add_argument(
            flag.name,
            dest=flag.dest,
            type=parser_for(flag.hint),
            default=None,
            metavar=metavar,
            help=flag.help,
        )
        if flag.is_bool:
            group.add_argument(
                f"--no-{flag.name[2:]}", dest=flag.dest, action="store_false", help=argparse.SUPPRESS
            )


def overrides(args: argparse.Namespace, flags: list[Flag]) -> dict[str, Any]:
    """The settings given on the command line, by dotted path."""
    given = {flag.path: getattr(args, flag.dest, None) for flag in flags}
    return {path: value for path, value in given.items() if value is not None}


def normalise_bools(argv: list[str], flags: list[Flag]) -> list[str]:
    """``--x`` -> ``--x=true``, ``--x false`` -> ``--x=false``, ``--no-x`` -> ``--x=false`` (and
    ``--x auto`` -> ``--x=auto`` where the field also takes ``"auto"``)."""
    words = {flag.name: TRUE + FALSE + _choices(flag.hint) for flag in flags if flag.is_bool}
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in words:
            following = argv[i + 1].lower() if i + 1 < len(argv) else ""
            if following in words[arg]:
                out.append(f"{arg}={argv[i + 1]}")
                i += 2
                continue
            out.append(f"{arg}=true")
        elif arg.startswith("--no-") and f"--{arg[5:]}" in words:
            out.append(f"--{arg[5:]}=false")
        else:
            out.append(arg)
        i += 1
    return out


def show_defaults(parser: argparse.ArgumentParser, cfg: RunConfig, flags: list[Flag]) -> None:
    """Put ``cfg``'s values into the flags' help text (what ``--help`` shows as each default)."""
    by_dest = {flag.dest: flag for flag in flags}
    for action in parser._actions:
        flag = by_dest.get(action.dest)
        if flag is not None and action.help not in (None, argparse.SUPPRESS):
            action.help = f"{flag.help} (default: {_shown(get_path(cfg, flag.path))})"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None or value == "" else str(value)


def parser_for(hint: Any) -> Any:
    """A function that reads a flag's text as the field's type, or says what it expected."""
    base = _base(hint)
    choices = _choices(hint)
    if base is bool:
        return parse_bool if not choices else lambda text: text if text in choices else _bool(text, choices)
    if base in (int, float, str) and not choices:
        return base
    return lambda text: _either(text, base, choices)


def _either(text: str, base: Any, choices: tuple[str, ...]) -> Any:
    if text in choices:
        return text
    if base in (int, float):
        try:
            return base(text)
        except ValueError:
            pass
    expected = " or ".join(filter(None, [base.__name__ if base in (int, float) else "", *choices]))
    raise argparse.ArgumentTypeError(f"expected {expected}, got '{text}'")


def parse_bool(text: str) -> bool:
    """true/false, yes/no, on/off or 1/0."""
    return _bool(text)


def _bool(text: str, choices: tuple[str, ...] = ()) -> bool:
    if text.lower() not in TRUE + FALSE:
        raise argparse.ArgumentTypeError(f"expected {'/'.join(('true', 'false', *choices))}, got '{text}'")
    return text.lower() in TRUE


def _members(hint: Any) -> list[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(hint) if a is not type(None)]
    return [hint]


def _base(hint: Any) -> Any:
    plain = [m for m in _members(hint) if typing.get_origin(m) is not Literal]
    return plain[0] if plain else str


def _choices(hint: Any) -> tuple[str, ...]:
    return tuple(a for m in _members(hint) if typing.get_origin(m) is Literal for a in typing.get_args(m))


def _metavar(hint: Any) -> str | None:
    choices, base = _choices(hint), _base(hint)
    if base is bool:
        return "[" + "|".join(("true", "false", *choices)) + "]"
    if choices and base is str:
        return "{" + ",".join(choices) + "}"
    if choices:
        return f"{base.__name__.upper()}|{'|'.join(choices)}"
    # The type, not argparse's default (the dest, e.g. TRAIN__R1_EVERY), which tells a user nothing.
    return {int: "INT", float: "FLOAT"}.get(base, "TEXT")
