"""Commands built from their config dataclass: one source for ``--help``, YAML and validation.

In the spirit of TRL's ``HfArgumentParser``: every field of a command's config dataclass is a
flag, its ``field(metadata={"help": ...})`` is the flag's help, ``--config FILE`` reads the same
fields from YAML (flags override), and the built config is checked once (types, declared bounds,
then the class's own ``validate()``). A field added to a config is therefore a flag, a YAML key
and a stored setting at once; nothing maps argparse to the dataclass by hand (that hand mapping
once dropped ``generate --compression``).

Metadata keys a field may carry (only ``help`` is needed):

- ``help``: the help line (the default is appended);
- ``positional``: a positional argument (always ``nargs="+"``-style lists here);
- ``nargs``, ``metavar``, ``choices``: as in argparse;
- ``parse``: a function applied to the value (from a flag or YAML) before it is stored,
  e.g. ``'all'`` -> every camera;
- ``min`` / ``max``: inclusive bounds, checked with a one-line error naming the flag;
- ``flag``: the flag's name when it is not ``--field-name`` (``--no-depth`` for ``depth=True``
  is derived automatically).

Why our own and not ``HfArgumentParser``: that one lives in ``transformers``, which the data
side must not import (it installs and runs without the train extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import typing
from typing import Any, Dict, Iterable, Optional, Tuple

from robotr1_data.errors import UsageError, did_you_mean

MISSING = dataclasses.MISSING


def opt(default: Any = MISSING, help: str = "", *, default_factory: Any = MISSING,
        **meta) -> Any:
    """``dataclasses.field`` with the metadata this module reads (``help`` and the keys above)."""
    meta["help"] = help
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Parser(argparse.ArgumentParser):
    """argparse with the project's error shape: one line on stderr, exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        sys.stderr.write(f"error: {message}; see `{self.prog} --help`\n")
        raise SystemExit(2)


# ---------------------------------------------------------------------------- types


def _unwrap_optional(hint) -> Tuple[Any, bool]:
    if typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _hints(cls) -> Dict[str, Any]:
    return typing.get_type_hints(cls)


def flag_name(f: dataclasses.Field) -> str:
    if "flag" in f.metadata:
        return f.metadata["flag"]
    if f.metadata.get("positional"):
        return f.name.upper()
    if _is_bool(f) and f.default is True:
        return "--no-" + f.name.replace("_", "-")
    return "--" + f.name.replace("_", "-")


def _is_bool(f: dataclasses.Field) -> bool:
    return f.type in (bool, "bool")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return MISSING


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` as ``hint`` says (YAML gives ints for floats, lists for tuples), or a UsageError."""
    inner, optional = _unwrap_optional(hint)
    if value is None:
        if optional:
            return None
        raise UsageError(f"{where} needs a value")
    origin = typing.get_origin(inner)
    if origin in (list, tuple):
        args = typing.get_args(inner)
        if isinstance(value, str) and origin is list:
            value = [value]  # `tasks: push_button` in YAML means a list of one
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"{where} takes a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise UsageError(f"{where} takes {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, where) for v, a in zip(value, args))
        item = args[0] if args else Any
        items = [_coerce(v, item, where) for v in value]
        return tuple(items) if origin is tuple else items
    if inner is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{where} takes true or false, got {value!r}")
        return value
    if inner is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{where} takes a whole number, got {value!r}")
        return value
    if inner is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{where} takes a number, got {value!r}")
        if not math.isfinite(value):
            raise UsageError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if inner is str:
        if not isinstance(value, str):
            raise UsageError(f"{where} takes text, got {value!r}")
        return value
    return value


# ---------------------------------------------------------------------------- argparse


def _argparse_type(hint):
    inner, _ = _unwrap_optional(hint)
    origin = typing.get_origin(inner)
    if origin in (list, tuple):
        args = [a for a in typing.get_args(inner) if a is not Ellipsis]
        inner = args[0] if args else str
    return inner if inner in (int, float, str) else str


def _nargs(f: dataclasses.Field, hint) -> Optional[Any]:
    if "nargs" in f.metadata:
        return f.metadata["nargs"]
    inner, _ = _unwrap_optional(hint)
    origin = typing.get_origin(inner)
    if origin is tuple:
        args = typing.get_args(inner)
        return "+" if (not args or args[-1] is Ellipsis) else len(args)
    if origin is list:
        return "+"
    return None


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return " ".join(_show(v) for v in value) or "none"
    return str(value)


def help_text(f: dataclasses.Field) -> str:
    text = f.metadata.get("help", "")
    d = _default(f)
    if f.metadata.get("positional") or _is_bool(f) or d is None:
        return text
    if d is MISSING or f.metadata.get("required"):
        return f"{text} (required)"
    return f"{text} (default: {_show(d)})" if text else f"default: {_show(d)}"


def add_config_args(parser: argparse.ArgumentParser, cls, *, config_file: bool = True,
                    skip: Iterable[str] = ()) -> None:
    """One argument per field of ``cls`` (plus ``--config FILE`` when ``config_file``).

    Flags default to ``None`` (= not given) so a YAML value is only overridden by a flag the
    user typed; the dataclass default applies last.
    """
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or f.metadata.get("cli") is False:
            continue
        hint = hints[f.name]
        kw: Dict[str, Any] = {"help": help_text(f).replace("%", "%%")}
        if f.metadata.get("positional"):
            kw["nargs"] = f.metadata.get("nargs", _nargs(f, hint))
            if "metavar" in f.metadata:
                kw["metavar"] = f.metadata["metavar"]
            parser.add_argument(f.name, **kw)
            continue
        if _is_bool(f):
            kw["action"] = "store_false" if f.default is True else "store_true"
            parser.add_argument(flag_name(f), dest=f.name, default=None, **kw)
            continue
        kw["type"] = _argparse_type(hint)
        n = _nargs(f, hint)
        if n is not None:
            kw["nargs"] = n
        for key in ("metavar", "choices"):
            if key in f.metadata:
                kw[key] = f.metadata[key]
        parser.add_argument(flag_name(f), dest=f.name, default=None, **kw)
    if config_file:
        parser.add_argument("--config", default=None, metavar="YAML",
                            help=f"{cls.__name__} fields from a YAML file (flags override it)")
    parser.set_defaults(config_class=cls)  # marks a command built here (docs tables, tests)


# ---------------------------------------------------------------------------- building


def read_yaml(cls, path: str) -> Dict[str, Any]:
    """The mapping in ``path``, every key a field of ``cls``; a one-line error otherwise."""
    import yaml

    try:
        with open(path, "r", encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read config '{path}' ({exc.strerror}); pass an existing "
                         "YAML file to --config") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise UsageError(f"config '{path}' is not valid YAML{at}; fix it or drop --config") \
            from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"config '{path}' must be a mapping of {cls.__name__} fields "
                         "(name: value lines)")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise UsageError(f"unknown field '{key}' in config '{path}'"
                             f"{did_you_mean(str(key), names)}")
    return data


def build(cls, values: Dict[str, Any], source: str = "",
          from_file: Optional[Iterable[str]] = None) -> Any:
    """``cls(**values)`` after per-field conversion, type and bound checks, then ``validate()``.

    ``values`` holds only what the user set (flags or YAML); missing fields take their
    dataclass default, and a field with no default must be present. Errors about a value from
    the file ``source`` say so (``from_file``: the keys it gave; None: all of them).
    """
    hints = _hints(cls)
    kwargs: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = flag_name(f)
        in_file = source and (from_file is None or f.name in from_file)
        where = f"{name}" + (f" (in {source})" if in_file else "")
        if f.name not in values or values[f.name] is None and _default(f) is MISSING:
            if _default(f) is MISSING or f.metadata.get("required"):
                raise UsageError(f"{name} is required: {f.metadata.get('help', f.name)}")
            continue
        value = values[f.name]
        choices = f.metadata.get("choices")
        if choices and value is not None and value not in choices:  # argparse checks flags only
            raise UsageError(f"{where} must be one of {', '.join(map(str, choices))}, "
                             f"got {value!r}")
        if "parse" in f.metadata and value is not None:
            value = f.metadata["parse"](value)
        value = _coerce(value, hints[f.name], where)
        kwargs[f.name] = value
    cfg = cls(**kwargs)
    check_bounds(cfg)
    if hasattr(cfg, "validate"):
        cfg.validate()
    return cfg


def check_bounds(cfg) -> None:
    """Every field's declared ``min``/``max`` holds (also for configs built in Python)."""
    for f in dataclasses.fields(cfg):
        _check_bound(f, getattr(cfg, f.name), flag_name(f))


def _check_bound(f: dataclasses.Field, value: Any, name: str) -> None:
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if lo is None and hi is None:
        return
    for v in value if isinstance(value, (list, tuple)) else [value]:
        if v is None:
            continue
        if lo is not None and v < lo or hi is not None and v > hi:
            span = (f"at least {lo}" if hi is None else f"at most {hi}" if lo is None
                    else f"within {lo}..{hi}")
            raise UsageError(f"{name} must be {span} (got {_show(value)})")


def from_args(cls, args: argparse.Namespace, skip: Iterable[str] = ()) -> Any:
    """The config ``cls`` from parsed arguments: YAML (``--config``) under flags under defaults."""
    values: Dict[str, Any] = {}
    path = getattr(args, "config", None)
    if path:
        values.update(read_yaml(cls, path))
    from_file = set(values)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        v = getattr(args, f.name, None)
        if v is not None:
            values[f.name] = v
            from_file.discard(f.name)
    return build(cls, values, source=path or "", from_file=from_file)


def to_argv(cfg) -> list:
    """Flags that rebuild ``cfg`` (positionals first): the inverse of ``from_args``, used by the
    round-trip test and handy for logging a reproducible command line."""
    pos, flags = [], []
    for f in dataclasses.fields(cfg):
        if f.metadata.get("cli") is False:
            continue
        v = getattr(cfg, f.name)
        if f.metadata.get("positional"):
            pos.extend([v] if isinstance(v, str) else [str(x) for x in v])
        elif _is_bool(f):
            if v != f.default:
                flags.append(flag_name(f))
        elif v is None:
            continue
        elif isinstance(v, (list, tuple)) and "nargs" in f.metadata and f.metadata["nargs"] is None:
            flags.extend([flag_name(f), ",".join(map(str, v))])  # one comma-separated value
        elif isinstance(v, (list, tuple)):
            flags.append(flag_name(f))
            flags.extend([_show(x) for x in v] or ["none"])
        else:
            flags.extend([flag_name(f), str(v)])
    return pos + flags
