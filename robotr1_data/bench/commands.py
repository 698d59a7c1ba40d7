"""CLI wiring for ``build-bench``: ``register(subparsers)`` adds it; its flags, ``--config`` YAML
and checks come from ``BenchConfig``'s fields (``robotr1_data.config``)."""

from __future__ import annotations

from .builder import BenchConfig, build_bench
from ..config import add_config_args, from_args


def _run(args) -> int:
    build_bench(from_args(BenchConfig, args))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build-bench", help="build Robot-R1 Bench (open-ended questions with ground-truth references)",
        description="Build Robot-R1 Bench from HDF5 shards: planning, high-level action, movement and "
        "spatial questions with references and the facts they come from (docs/bench.md).")
    add_config_args(p, BenchConfig)
    p.set_defaults(func=_run)
