"""CLI wiring for ``build-qa`` and ``export-qa``: ``register(subparsers)`` adds both.

Each subcommand sets ``func(args) -> int``; robotr1_data.cli calls it and turns UsageError
into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse

from ..config import add_config_args, from_args
from .builder import QAConfig, build_qa
from .export import FORMATS, SFT_TARGETS, export_qa

def _build(args) -> int:
    config = from_args(QAConfig, args)
    build_qa(args.shards, args.out, config, log=print if not args.quiet else (lambda *a, **k: None))
    return 0


def _export(args) -> int:
    export_qa(args.qa_dir, args.format, args.out, sft=args.sft, val_fraction=args.val_fraction, seed=args.seed)
    return 0


def register(subparsers) -> None:
    """Add ``build-qa`` and ``export-qa`` to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "build-qa",
        help="build Robot-R1 questions (waypoint, current, movement, open-ended) from shards",
        description="Build Robot-R1 embodied-reasoning questions from HDF5 shards into "
        "QA_DIR/questions.jsonl and QA_DIR/summary.json (docs/qa.md). Defaults reproduce the paper.",
    )
    p.add_argument("shards", nargs="+", metavar="SHARDS", help="shard files or directories (*.h5, recursive)")
    p.add_argument("--out", required=True, metavar="QA_DIR", help="output directory of the QA store")
    add_config_args(p, QAConfig)
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=_build)

    e = subparsers.add_parser(
        "export-qa",
        help="export a QA store for EasyR1, TRL or Hugging Face datasets",
        description="Export QA_DIR to what a trainer reads, with images as PNG files (docs/qa.md).",
    )
    e.add_argument("qa_dir", metavar="QA_DIR", help="directory holding questions.jsonl")
    e.add_argument("--format", required=True, choices=FORMATS, help="easyr1 | trl | hf")
    e.add_argument("--out", required=True, metavar="DIR", help="output directory")
    e.add_argument("--sft", default=None, choices=SFT_TARGETS,
                   help="trl only: add a conversational completion from sft_direct or sft_cot")
    e.add_argument("--val-fraction", type=float, default=None, metavar="F",
                   help="easyr1 only: share of the episodes written to val.jsonl (default 0.1; whole "
                   "episodes, at least one)")
    e.add_argument("--seed", type=int, default=0, help="seed of the episode split (default 0)")
    e.set_defaults(func=_export)


def main(argv=None) -> int:
    """Stand-alone entry (the package CLI is robotr1_data.cli); UsageError -> one line, exit 2."""
    import sys

    from ..errors import UsageError

    from ..config import Parser

    parser = Parser(prog="robotr1-data")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
