"""CLI wiring for ``robotr1-train eval-bench``; its flags, ``--config`` YAML and checks come from
``EvalBenchConfig``'s fields (``robotr1_data.config``)."""

from __future__ import annotations

import os


def _run(args) -> int:
    from robotr1_data.config import from_args

    from .report import format_table
    from .run import RESULTS, EvalBenchConfig, evaluate_bench

    cfg = from_args(EvalBenchConfig, args)
    results = evaluate_bench(cfg)
    print(format_table(results))
    print(f"results in {os.path.join(cfg.out, RESULTS)}, report in {os.path.join(cfg.out, 'report.md')}")
    return 0


def register_eval_bench(sub) -> None:
    from robotr1_data.config import add_config_args

    from .run import EvalBenchConfig

    p = sub.add_parser("eval-bench", help="Robot-R1 Bench: answer open questions, judge them 0-3, report",
                       description="Answer every question of a bench store with a model (or the oracle/noop "
                       "baselines) and score each answer 0-3 with a judge (docs/bench.md).")
    add_config_args(p, EvalBenchConfig)
    p.set_defaults(func=_run)
