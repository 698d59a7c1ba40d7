"""Command options from a config dataclass: each field is one ``--flag`` whose help text is the
field's ``metadata["help"]``, and the parsed values build the dataclass, whose ``validate()``
turns bad values into a ``UsageError`` (one line, exit 2).

Written here because argparse has no dataclass bridge and the project is moving every command
to this shape; ``transformers.HfArgumentParser`` does the same but would make the data side
import transformers.

Field metadata keys: ``help`` (required), ``positional`` (a positional argument; with
``nargs``), ``metavar``, ``choices``, ``required``, ``flag`` (the option name when it is not
the field name with dashes).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Type, TypeVar

T = TypeVar("T")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def add_options(parser: argparse.ArgumentParser, cls: Type) -> None:
    """One argument per field of ``cls`` (see module docstring)."""
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "help" not in meta:
            continue  # not a command option (e.g. set by code)
        default = _default(f)
        kw: dict = {"help": meta["help"]}
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        if meta.get("metavar"):
            kw["metavar"] = meta["metavar"]
        if meta.get("positional"):
            kw["nargs"] = meta.get("nargs", None)
            parser.add_argument(f.name, **kw)
            continue
        flag = meta.get("flag", "--" + f.name.replace("_", "-"))
        if isinstance(default, bool):
            kw["action"] = "store_true"
        elif isinstance(default, (tuple, list)) and default:
            kw["nargs"] = len(default)
            kw["type"] = type(default[0])
        elif default is not None and not meta.get("required"):
            kw["type"] = type(default)
        if meta.get("required"):
            kw["required"] = True
        elif not isinstance(default, bool) and default not in (None, "", ()):
            shown = " ".join(map(str, default)) if isinstance(default, (tuple, list)) else default
            kw["help"] += f" (default: {shown})"
        parser.add_argument(flag, dest=f.name, default=default, **kw)


def from_args(cls: Type[T], args: argparse.Namespace) -> T:
    """The validated config from parsed arguments."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    for f in dataclasses.fields(cls):
        if isinstance(_default(f), tuple) and isinstance(values.get(f.name), list):
            values[f.name] = tuple(values[f.name])
    cfg = cls(**values)
    cfg.validate()  # type: ignore[attr-defined]
    return cfg
