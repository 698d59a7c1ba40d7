"""The flag tables of docs/cli.md for every command built from a config dataclass, generated
from the parser (so from the dataclasses' help): ``python -m robotr1_data.cli_docs docs/cli.md``
rewrites the ``robotr1-data`` part between the markers (``python -m robotr1_train.cli_docs``
rewrites both CLIs' parts); tests/test_config.py checks the file is current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BEGIN = "<!-- begin generated flags: python -m robotr1_data.cli_docs docs/cli.md -->"
END = "<!-- end generated flags -->"


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _flag(action: argparse.Action) -> str:
    if not action.option_strings:
        return action.metavar or action.dest.upper()
    name = action.option_strings[-1]
    if action.nargs == 0:
        return name
    mv = action.metavar
    if isinstance(mv, tuple):
        mv = " ".join(mv)
    elif mv is None:
        mv = "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()
    return f"{name} {mv}" + (" …" if action.nargs in ("+", "*") else "")


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: no column break, no HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;")


def flag_tables(parser: argparse.ArgumentParser = None) -> str:
    """Markdown tables of every config-built subcommand of ``parser`` (default: robotr1-data's)."""
    if parser is None:
        from robotr1_data.cli import build_parser

        parser = build_parser()
    parts = []
    for name, sub in _subparsers(parser).items():
        if sub.get_default("config_class") is None:
            continue  # only commands built from a config dataclass (robotr1_data.config)
        rows = [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]
        parts.append(f"### `{name}`\n\n| flag | meaning |\n|---|---|")
        for a in rows:
            text = _cell((a.help or "").replace("%%", "%"))
            parts.append(f"| `{_cell(_flag(a))}` | {text} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def generated(text: str, begin: str = BEGIN) -> str:
    """The generated part of ``text`` after the marker ``begin``."""
    return text.split(begin, 1)[1].split(END, 1)[0]


def rewrite(path: Path, begin: str = BEGIN, tables: str = None) -> bool:
    """Replace the generated part of ``path`` after ``begin``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{begin}\n\n{flag_tables() if tables is None else tables}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    for p in sys.argv[1:] or ["docs/cli.md"]:
        print(f"{p}: {'rewritten' if rewrite(Path(p)) else 'up to date'}")
