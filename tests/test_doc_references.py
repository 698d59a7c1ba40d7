"""Docs and messages point only at things that exist: no notes outside the repository, and every
`robotr1-data X` / `robotr1-train X` named in code or docs is a real subcommand (error messages
once advised `robotr1-data qa` and `robotr1-data record`, which never existed)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT = [p for pattern in ("robotr1_data/**/*.py", "robotr1_train/**/*.py", "docs/**/*.md", "bench/*.py",
                          "configs/*", "README.md", "Makefile")
        for p in ROOT.glob(pattern) if p.is_file()]


def _subcommands(parser):
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("no subcommands")


def test_no_reference_to_notes_outside_the_repository():
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in TEXT
           for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
           if re.search(r"\bDESIGN(\.md)? ?§|\bSTYLE(\.md)? ?§|DESIGN\.md|STYLE\.md", line)]
    assert not bad, f"references to files that are not in this repository: {bad}"


@pytest.mark.parametrize("prog", ["robotr1-data", "robotr1-train"])
def test_every_named_subcommand_exists(prog):
    if prog == "robotr1-data":
        from robotr1_data.cli import build_parser
    else:
        pytest.importorskip("torch")
        from robotr1_train.cli import build_parser
    known = _subcommands(build_parser())
    named = {}
    for p in TEXT:
        for m in re.finditer(re.escape(prog) + r" ([a-z][a-z0-9-]*)", p.read_text(errors="replace")):
            named.setdefault(m.group(1), str(p.relative_to(ROOT)))
    unknown = {k: v for k, v in named.items() if k not in known}
    assert not unknown, f"{prog} subcommands named but not defined: {unknown}"
