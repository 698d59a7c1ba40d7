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
- ``nargs``, ``metavar``: as in argparse;
- ``choices``: the allowed values, a sequence read when used, or a function returning them
  (read when the parser is built and when a value is checked, so a registry filled later is
  seen);
- ``parse``: a function applied to the value (from a flag or YAML) before it is stored,
  e.g. ``'all'`` -> every camera;
- ``min`` / ``max``: inclusive bounds, checked with a one-line error naming the flag;
- ``flag``: the flag's name when it is not ``--field-name`` (``--no-depth`` for ``depth=True``
  is derived automatically);
- ``bool_value``: a bool flag that takes a value (``--progress-bar false``) instead of being a
  switch; an ``Optional[bool]`` field always takes one (``true``, ``false`` or ``none``);
- ``repeat``: a list flag that may be given several times, each adding to the list;
- ``required``: a flag that must be given although the field has a default for Python callers;
- ``cli``: False for a field that is set by code, never by a flag.

Shared fields live in a base dataclass (``robotr1_data.views.ViewConfig``). Python 3.9 has no
``kw_only``, so a config that inherits fields with defaults gives its own required fields a
default too and marks them ``required``; dataclasses list the base's fields first, and the class
attribute ``inherited_after = "name"`` shows them after that field instead (``config_fields``).

Beside the fields, ``add_config_args`` can add ``--set KEY=VALUE`` (any field by its name, the
value written as on a command line) and ``--config`` may read one section of a YAML file
(``grpo:`` / ``sft:``) when the file has sections. Precedence: defaults < YAML < ``--set`` <
flags.

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

    prefix = "error"  # a CLI may subclass to name itself (sub-parsers inherit the class)

    def error(self, message: str):  # noqa: D102 - argparse's hook
        sys.stderr.write(f"{self.prefix}: {message}; see `{self.prog} --help`\n")
        raise SystemExit(2)


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
NONE_WORDS = ("none", "null", "~")


def parse_bool(text: str) -> Optional[bool]:
    """``true``/``false`` (and yes/no, on/off, 1/0; ``none``) as typed on a command line."""
    t = str(text).strip().lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    if t in NONE_WORDS:
        return None
    raise argparse.ArgumentTypeError(f"takes true or false, got {text!r}")


def comma_list(value: Any) -> Any:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (a flag may take space- or comma-separated names)."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for v in items:
        if isinstance(v, str):
            out.extend(t.strip() for t in v.split(",") if t.strip())
        else:
            out.append(v)
    return out


def choices_of(f: dataclasses.Field) -> Optional[list]:
    c = f.metadata.get("choices")
    if c is None:
        return None
    return list(c() if callable(c) else c)


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


def config_fields(cls) -> Tuple[dataclasses.Field, ...]:
    """``dataclasses.fields(cls)`` in the order the command shows them: inherited fields right
    after the field named by ``cls.inherited_after`` (when set), else first."""
    fields = dataclasses.fields(cls)
    after = getattr(cls, "inherited_after", None)
    if not after:
        return fields
    own = set(cls.__dict__.get("__annotations__", {}))
    inherited = [f for f in fields if f.name not in own]
    rest = [f for f in fields if f.name in own]
    at = [f.name for f in rest].index(after) + 1
    return tuple(rest[:at] + inherited + rest[at:])


def _is_bool(f: dataclasses.Field) -> bool:
    """A switch: a bool field whose flag takes no value."""
    return f.type in (bool, "bool") and not f.metadata.get("bool_value")


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
    if inner is bool:
        return parse_bool
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
    if isinstance(value, bool):
        return str(value).lower()
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
    if "(default:" in text or d in ("", [], ()):  # the help says it better (or there is none)
        return text
    return f"{text} (default: {_show(d)})" if text else f"default: {_show(d)}"


def add_config_args(parser: argparse.ArgumentParser, cls, *, config_file: bool = True,
                    skip: Iterable[str] = (), set_flag: bool = False,
                    section: Optional[str] = None, sections: Iterable[str] = (),
                    group: Optional[str] = None) -> None:
    """One argument per field of ``cls`` (plus ``--config FILE`` when ``config_file``).

    Flags default to ``None`` (= not given) so a YAML value is only overridden by a flag the
    user typed; the dataclass default applies last. ``set_flag`` adds ``--set KEY=VALUE``;
    ``section`` is the part of a sectioned YAML file this command reads (``sections``: every
    section name such files use, so a file with only other sections gives nothing). ``group``
    puts the field flags under their own heading in ``--help``.
    """
    hints = _hints(cls)
    target = parser.add_argument_group(group) if group else parser
    for f in config_fields(cls):
        if f.name in skip or f.metadata.get("cli") is False:
            continue
        hint = hints[f.name]
        kw: Dict[str, Any] = {"help": help_text(f).replace("%", "%%")}
        if f.metadata.get("positional"):
            kw["nargs"] = f.metadata.get("nargs", _nargs(f, hint))
            if "metavar" in f.metadata:
                kw["metavar"] = f.metadata["metavar"]
            target.add_argument(f.name, **kw)
            continue
        if _is_bool(f):
            kw["action"] = "store_false" if f.default is True else "store_true"
            target.add_argument(flag_name(f), dest=f.name, default=None, **kw)
            continue
        kw["type"] = _argparse_type(hint)
        if kw["type"] is parse_bool:
            kw.setdefault("metavar", "{true,false,none}" if _unwrap_optional(hint)[1]
                          else "{true,false}")
        n = _nargs(f, hint)
        if n is not None:
            kw["nargs"] = n
        if f.metadata.get("repeat"):
            kw["action"] = "extend"  # `--policy a --policy b` and `--policy a b` both add
        if "metavar" in f.metadata:
            kw["metavar"] = f.metadata["metavar"]
        if choices_of(f) is not None:
            kw["choices"] = choices_of(f)
        target.add_argument(flag_name(f), dest=f.name, default=None, **kw)
    if set_flag:
        parser.add_argument("--set", dest="config_set", action="append", default=[],
                            metavar="KEY=VALUE",
                            help=f"set any {cls.__name__} field by name, e.g. --set "
                                 f"{_set_example(cls)} (repeatable; flags override it)")
    if config_file:
        where = f" (its {section}: section, or flat keys)" if section else ""
        over = "--set and flags override it" if set_flag else "flags override it"
        parser.add_argument("--config", default=None, metavar="YAML",
                            help=f"{cls.__name__} fields from a YAML file{where} ({over})")
    # marks a command built here (docs tables, tests) and says how to read its YAML
    parser.set_defaults(config_class=cls, config_section=section,
                        config_sections=tuple(sections))


def _set_example(cls) -> str:
    f = next((f for f in config_fields(cls) if not f.metadata.get("positional")
              and _default(f) not in (MISSING, None)), None)
    if f is None:
        return "name=value"
    d = _default(f)
    return f"{f.name}={str(d).lower() if isinstance(d, bool) else _show(d).replace(' ', ',')}"


# ---------------------------------------------------------------------------- building


def read_yaml(cls, path: str, section: Optional[str] = None,
              sections: Iterable[str] = ()) -> Dict[str, Any]:
    """The mapping in ``path`` (or its ``section`` when the file is split into ``sections``),
    every key a field of ``cls``; a one-line error otherwise."""
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
    sections = set(sections) | ({section} if section else set())
    if section and any(k in sections for k in data):
        data = data.get(section)  # a sectioned file: only this command's part
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise UsageError(f"section '{section}' of config '{path}' must be a mapping of "
                             f"{cls.__name__} fields (name: value lines)")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise UsageError(f"unknown field '{key}' in config '{path}'"
                             f"{did_you_mean(str(key), names)}")
    return data


def build(cls, values: Dict[str, Any], source: str = "",
          from_file: Optional[Iterable[str]] = None, from_set: Iterable[str] = ()) -> Any:
    """``cls(**values)`` after per-field conversion, type and bound checks, then ``validate()``.

    ``values`` holds only what the user set (flags or YAML); missing fields take their
    dataclass default, and a field with no default must be present. Errors about a value from
    the file ``source`` say so (``from_file``: the keys it gave; None: all of them), and so do
    errors about a ``--set`` key (``from_set``).
    """
    hints = _hints(cls)
    kwargs: Dict[str, Any] = {}
    from_set = set(from_set)
    for f in config_fields(cls):
        name = flag_name(f)
        in_file = source and (from_file is None or f.name in from_file) and f.name not in from_set
        where = f"{name}" + (f" (in {source})" if in_file else
                             f" (--set {f.name})" if f.name in from_set else "")
        if f.name not in values or values[f.name] is None and _default(f) is MISSING:
            if _default(f) is MISSING or f.metadata.get("required"):
                raise UsageError(f"{name} is required: {f.metadata.get('help', f.name)}")
            continue
        value = values[f.name]
        _check_choice(f, value, where)  # argparse checks flags only; this covers YAML and --set
        if "parse" in f.metadata and value is not None:
            value = f.metadata["parse"](value)
        value = _coerce(value, hints[f.name], where)
        _check_bound(f, value, where)
        kwargs[f.name] = value
    cfg = cls(**kwargs)
    check_bounds(cfg)
    if hasattr(cfg, "validate"):
        cfg.validate()
    return cfg


def set_values(cls, items: Iterable[str]) -> Dict[str, Any]:
    """``--set key=value`` items as field values (the text converted by the field's type)."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("cli") is not False}
    out: Dict[str, Any] = {}
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"--set needs KEY=VALUE, got '{item}'")
        key, text = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key not in fields:
            raise UsageError(f"unknown config key '{key}' in --set{did_you_mean(key, list(fields))} "
                             f"({cls.__name__} keys: {', '.join(fields)})")
        out[key] = from_text(text, hints[key], f"--set {key}")
    return out


def from_text(text: str, hint: Any, where: str) -> Any:
    """A value typed on a command line (``1e-5``, ``true``, ``a,b``, ``none``) as ``hint``."""
    inner, optional = _unwrap_optional(hint)
    t = text.strip()
    if optional and t.lower() in NONE_WORDS + ("",):
        return None
    origin = typing.get_origin(inner)
    try:
        if origin in (list, tuple):
            if t.startswith("["):
                import yaml

                return yaml.safe_load(t)
            args = [a for a in typing.get_args(inner) if a is not Ellipsis]
            item = args[0] if args else str
            return [from_text(v, item, where) for v in t.split(",") if v.strip()]
        if inner is bool:
            v = parse_bool(t)
            if v is None:
                raise ValueError
            return v
        if inner is int:
            return int(t)
        if inner is float:
            return float(t)
    except (ValueError, argparse.ArgumentTypeError):
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(inner, "a list")
        raise UsageError(f"{where} takes {kind}, got {text!r}") from None
    except Exception as exc:  # yaml.YAMLError: a bracketed list that is not one
        raise UsageError(f"{where}: {text!r} is not a list ({type(exc).__name__})") from None
    return t if inner is str else text


def check_bounds(cfg) -> None:
    """Every field's declared ``min``/``max`` and ``choices`` hold (also for configs built in Python)."""
    for f in config_fields(type(cfg)):
        value = getattr(cfg, f.name)
        if "parse" not in f.metadata:  # a parsed value is no longer the text its choices name
            _check_choice(f, value, flag_name(f))
        _check_bound(f, value, flag_name(f))


def _check_choice(f: dataclasses.Field, value: Any, where: str) -> None:
    choices = choices_of(f)
    if choices and value is not None and value not in choices:
        raise UsageError(f"{where} must be one of {', '.join(map(str, choices))}, "
                         f"got {value!r}{did_you_mean(str(value), list(map(str, choices)))}")


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


def from_args(cls, args: argparse.Namespace, skip: Iterable[str] = (),
              config_file: bool = True) -> Any:
    """The config ``cls`` from parsed arguments: YAML (``--config``) under ``--set`` under flags
    under defaults. ``config_file=False`` for a second config of a command that is not the one
    its ``--config`` describes."""
    values: Dict[str, Any] = {}
    path = getattr(args, "config", None) if config_file else None
    if path:
        values.update(read_yaml(cls, path, getattr(args, "config_section", None),
                                getattr(args, "config_sections", ())))
    from_file = set(values)
    from_set: set = set()
    if config_file and getattr(args, "config_set", None):
        given = set_values(cls, args.config_set)
        values.update(given)
        from_file -= set(given)
        from_set = set(given)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        v = getattr(args, f.name, None)
        if v is not None:
            values[f.name] = v
            from_file.discard(f.name)
            from_set.discard(f.name)
    return build(cls, values, source=path or "", from_file=from_file, from_set=from_set)


def to_argv(cfg) -> list:
    """Flags that rebuild ``cfg`` (positionals first): the inverse of ``from_args``, used by the
    round-trip test and handy for logging a reproducible command line."""
    pos, flags = [], []
    for f in config_fields(type(cfg)):
        if f.metadata.get("cli") is False:
            continue
        v = getattr(cfg, f.name)
        if f.metadata.get("positional"):
            pos.extend([v] if isinstance(v, str) else [str(x) for x in v])
        elif _is_bool(f):
            if v != f.default:
                flags.append(flag_name(f))
        elif v is None or v == _default(f):
            continue  # the default needs no flag (and an empty list has no spelling)
        elif isinstance(v, bool):
            flags.extend([flag_name(f), str(v).lower()])
        elif isinstance(v, (list, tuple)) and "nargs" in f.metadata and f.metadata["nargs"] is None:
            flags.extend([flag_name(f), ",".join(map(str, v))])  # one comma-separated value
        elif isinstance(v, (list, tuple)):
            flags.append(flag_name(f))
            flags.extend([_show(x) for x in v] or ["none"])
        else:
            flags.extend([flag_name(f), str(v)])
    return pos + flags
