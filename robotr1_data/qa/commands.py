"""CLI wiring for ``build-qa`` and ``export-qa``: ``register(subparsers)`` adds both.

Each subcommand sets ``func(args) -> int``; robotr1_data.cli calls it and turns UsageError
into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse

from . import templates
from .builder import QAConfig, build_qa
from .export import FORMATS, SFT_TARGETS, export_qa

_DEFAULT = QAConfig()


def _types(text: str):
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _build(args) -> int:
    overrides = dict(
        types=_types(args.types) if args.types is not None else None,
        stride=args.stride,
        camera=args.camera,
        image_size=tuple(args.image_size) if args.image_size is not None else None,
        seed=args.seed,
        min_separation=args.min_separation,
        min_move=args.min_move,
        workspace=tuple(args.workspace) if args.workspace is not None else None,
        include_failed=True if args.include_failed else None,
    )
    if args.config:
        config = QAConfig.from_yaml(args.config, **overrides)
    else:
        config = QAConfig(**{k: v for k, v in overrides.items() if v is not None})
    build_qa(args.shards, args.out, config, log=print if not args.quiet else (lambda *a, **k: None))
    return 0


def _export(args) -> int:
    export_qa(args.qa_dir, args.format, args.out, sft=args.sft, val_fraction=args.val_fraction, seed=args.seed)
    return 0


def register(subparsers) -> None:
    """Add ``build-qa`` and ``export-qa`` to an ``argparse`` subparsers object."""
    d = _DEFAULT
    p = subparsers.add_parser(
        "build-qa",
        help="build Robot-R1 questions (waypoint, current, movement, open-ended) from shards",
        description="Build Robot-R1 embodied-reasoning questions from HDF5 shards into "
        "QA_DIR/questions.jsonl and QA_DIR/summary.json (docs/qa.md). Defaults reproduce the paper.",
    )
    p.add_argument("shards", nargs="+", metavar="SHARDS", help="shard files or directories (*.h5, recursive)")
    p.add_argument("--out", required=True, metavar="QA_DIR", help="output directory of the QA store")
    p.add_argument("--types", default=None, metavar="T1,T2",
                   help=f"question types, comma-separated, from {','.join(templates.QUESTION_TYPES)} "
                   f"(default {','.join(d.types)})")
    p.add_argument("--stride", type=int, default=None, help=f"current frame every N steps (default {d.stride})")
    p.add_argument("--camera", default=None, help=f"camera whose image the model sees (default {d.camera})")
    p.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                   help=f"image height and width in pixels (default {d.image_size[0]} {d.image_size[1]})")
    p.add_argument("--seed", type=int, default=None, help=f"seed of the one RNG (default {d.seed})")
    p.add_argument("--min-separation", type=float, default=None, metavar="M",
                   help=f"min L2 distance in metres between state options (default {d.min_separation})")
    p.add_argument("--min-move", type=float, default=None, metavar="M",
                   help=f"per-axis change in metres below which an axis does not move (default {d.min_move})")
    p.add_argument("--workspace", type=float, nargs=6, default=None,
                   metavar=("XMIN", "XMAX", "YMIN", "YMAX", "ZMIN", "ZMAX"),
                   help="reachable box for state distractors, world metres "
                   f"(default {' '.join(str(v) for v in d.workspace)})")
    p.add_argument("--include-failed", action="store_true", help="also use episodes whose demo failed")
    p.add_argument("--config", default=None, metavar="YAML", help="QAConfig fields from YAML (flags override)")
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

    parser = argparse.ArgumentParser(prog="robotr1-data")
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
