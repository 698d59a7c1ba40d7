"""docs/cli.md's flag tables for both CLIs: ``python -m robotr1_train.cli_docs docs/cli.md``.

The ``robotr1-train`` tables come from this package's parser; the generator itself is
``robotr1_data.cli_docs`` (the data side cannot import the train side, so its own
``python -m robotr1_data.cli_docs`` rewrites only the ``robotr1-data`` part)."""

from __future__ import annotations

import sys
from pathlib import Path

from robotr1_data import cli_docs

BEGIN = "<!-- begin generated train flags: python -m robotr1_train.cli_docs docs/cli.md -->"


def flag_tables() -> str:
    from robotr1_train.cli import build_parser

    return cli_docs.flag_tables(build_parser())


def rewrite(path: Path) -> bool:
    data = cli_docs.rewrite(path)
    return cli_docs.rewrite(path, BEGIN, flag_tables()) or data


if __name__ == "__main__":
    for p in sys.argv[1:] or ["docs/cli.md"]:
        print(f"{p}: {'rewritten' if rewrite(Path(p)) else 'up to date'}")
