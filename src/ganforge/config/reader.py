"""Reading configs from JSON: dicts checked key by key against the dataclasses' typed fields.

Unknown keys get a did-you-mean, wrong types a one-line message naming the field; ``Literal`` fields
accept only their values and unions (``float | "auto"``) the first member that fits.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from ganforge.errors import UserError


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; one-line errors for a missing, unreadable or non-object file."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{what} {path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise UserError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {path} must hold a JSON object")
    return data


def build(cls: type, data: Any, where: str) -> Any:
    """An instance of dataclass ``cls`` from ``data`` (a dict), every value checked against its field."""
    if not isinstance(data, dict):
        raise UserError(f"{where} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise UserError(f"unknown key {key!r} in {where}{did_you_mean(key, names)}")
        kwargs[key] = convert(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def did_you_mean(name: str, known: list[str]) -> str:
    """ "; did you mean 'x'?" for the closest of ``known``, else the list of known names."""
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(known)}"


def convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the field type ``hint`` asks, or a UserError naming ``where``."""
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert_union([a for a in args if a is not type(None)], value, where)
    if typing.get_origin(hint) is Literal:
        if value not in args:
            raise UserError(f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if typing.get_origin(hint) in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where} must be a list, got {value!r}")
        item = args[0] if args else Any
        converted = [v if item is Any else convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if typing.get_origin(hint) is tuple else converted
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    checks = {
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
        bool: isinstance(value, bool),
    }
    if hint not in checks:  # a field type this reader does not know: a bug here, said plainly
        raise UserError(f"{where}: the config reader cannot read a field of type {hint!r}")
    if not checks[hint]:
        raise UserError(f"{where} must be {hint.__name__}, got {value!r}")
    return float(value) if hint is float else value


def _convert_union(options: list[Any], value: Any, where: str) -> Any:
    """The first of ``options`` that reads ``value``; one message naming them all if none does."""
    for option in options:
        try:
            return convert(option, value, where)
        except UserError:
            continue
    if len(options) == 1:
        return convert(options[0], value, where)  # its own message
    raise UserError(f"{where} must be {type_name(options)}, got {value!r}")


def type_name(options: list[Any]) -> str:
    """'float or 'auto'' for the members of a union, as a message names them."""
    names = []
    for option in options:
        if typing.get_origin(option) is Literal:
            names += [repr(a) for a in typing.get_args(option)]
        else:
            names.append(getattr(option, "__name__", str(option)))
    return " or ".join(names)
