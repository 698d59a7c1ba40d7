"""``robotr1-train``: GRPO and SFT on Robot-R1 questions, evaluation, and the tiny offline test model.

    robotr1-train grpo --qa QA_DIR --model PATH_OR_ID --out RUN_DIR [--config configs/robot_r1.yaml]
                       [--lora] [--resume] [--set key=value ...] [--<field-name> value ...]
    robotr1-train sft  --qa QA_DIR --model PATH_OR_ID --out RUN_DIR --target direct|answer|cot [...]
    robotr1-train make-tiny-model --out DIR [--seed N] [--tokenizer-qa QA_DIR --vocab-size N]
    robotr1-train eval-sim | eval-qa | eval-bench ...

Every command is built from its config dataclass by ``robotr1_data.config`` (the generator the data
CLI uses): each field is a flag whose help is the field's ``metadata["help"]``, ``--config`` YAML sets
the same fields, and the built config is checked once (types, bounds, ``validate()``). For grpo/sft
every ``GRPOConfig`` / ``SFTConfig`` field is also a ``--set`` key (``--set kl_coef=0``) and the YAML
may hold ``grpo:`` / ``sft:`` sections. Bad input prints one line and exits with code 2. Subcommands
register through ``register_*`` functions (``SUBCOMMANDS``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Callable, Optional

from robotr1_data.config import Parser, add_config_args, from_args, opt
from robotr1_data.errors import UsageError, output_dir

PROG = "robotr1-train"


class TrainParser(Parser):
    """The data CLI's one-line argparse errors, under this program's name."""

    prefix = f"{PROG}: error"


@dataclasses.dataclass
class RunConfig:
    """Where a grpo/sft run reads and writes (stored under ``run:`` in ``RUN_DIR/config.yaml``)."""

    qa: str = opt(help="QA store directory (holds questions.jsonl)")
    model: str = opt(help="local save_pretrained directory or hub id")
    out: str = opt(help="run directory (config, metrics, checkpoints, final model)")
    resume: bool = opt(False, "continue from the newest complete checkpoint in --out")

    def validate(self) -> None:
        fix = {"qa": "pass a QA store directory (robotr1-data build-qa writes one)",
               "model": "pass a model directory or hub id", "out": "name a run directory"}
        for name, what in fix.items():
            if not getattr(self, name).strip():
                raise UsageError(f"--{name} is empty; {what}")


@dataclasses.dataclass
class TinyModelConfig:
    out: str = opt(help="directory to write the model, tokenizer and processor to")
    seed: int = opt(0, "seed of the random weights (same seed, same model)", min=0)
    tokenizer_qa: str = opt("", "train the tokenizer on this QA store's prompts and targets (fixed "
                                "sentences become a few tokens: ~4x shorter prompts, cheaper CPU steps); "
                                "default: the built-in corpus")
    vocab_size: int = opt(512, "tokenizer vocabulary size (the byte alphabet and special tokens take 263)", min=512)
    hidden_size: int = opt(64, "language model width (a multiple of 16)", min=32)
    layers: int = opt(2, "language model layers", min=1)

    def validate(self) -> None:
        if self.hidden_size % 16:
            raise UsageError(f"--hidden-size {self.hidden_size} is not a multiple of 16 (4 heads of an even "
                             "size, 3 rotary sections); pass e.g. 64 or 128")
        if self.tokenizer_qa and not os.path.isfile(os.path.join(self.tokenizer_qa, "questions.jsonl")):
            raise UsageError(f"--tokenizer-qa '{self.tokenizer_qa}' holds no questions.jsonl; pass a QA store "
                             "(robotr1-data build-qa writes one)")
        if not self.out.strip():
            raise UsageError("--out is empty; name a directory for the tiny model")
        if os.path.exists(self.out) and not os.path.isdir(self.out):
            raise UsageError(f"--out '{self.out}' is an existing file; pass a directory (new or one "
                             "written by make-tiny-model)")


# ---------------------------------------------------------------------------- grpo / sft


def _train_command(sub, name: str, help: str, cls, func) -> argparse.ArgumentParser:
    from robotr1_train.config import SECTIONS

    p = sub.add_parser(name, help=help, description=help)
    add_config_args(p, RunConfig, config_file=False)
    add_config_args(p, cls, set_flag=True, section=name, sections=SECTIONS,
                    group=f"{cls.__name__} fields (see configs/robot_r1.yaml)")
    p.set_defaults(func=func)
    return p


def _prepare(args, cls, check: Optional[Callable] = None):
    """The run's paths and its config from the flags (``check(cfg)`` next), then the questions and
    the run directory, all before any model is loaded or anything is written."""
    from robotr1_train.data import load_records
    from robotr1_train.runtime import check_run_dir

    run = from_args(RunConfig, args, config_file=False)
    cfg = from_args(cls, args)
    if check is not None:
        check(cfg)
    records = load_records(run.qa, cfg.question_types, cfg.max_samples)
    check_run_dir(run.out, run.resume)
    return run, cfg, records


def _run_info(run: RunConfig, command: str) -> dict:
    return {"command": command, "qa": run.qa, "model": run.model, "resume": run.resume}


def run_grpo(args) -> int:
    from robotr1_train.config import GRPOConfig
    from robotr1_train.trl_train import check_vllm

    run, cfg, records = _prepare(args, GRPOConfig, check_vllm)
    from robotr1_train.trl_train import last_log, train_grpo

    trainer, final = train_grpo(cfg, run.model, records, run.qa, run.out, resume=run.resume,
                                run_info=_run_info(run, "grpo"))
    if trainer.accelerator.is_main_process:
        last = last_log(trainer)
        print(f"grpo: {trainer.state.global_step} steps, reward {last.get('reward', float('nan')):.3f}; "
              f"model in {final}; metrics in {os.path.join(run.out, 'metrics.jsonl')}")
    return 0


def run_sft(args) -> int:
    from robotr1_train.config import SFTConfig

    run, cfg, records = _prepare(args, SFTConfig)
    from robotr1_train.trl_train import last_log, train_sft

    trainer, final = train_sft(cfg, run.model, records, run.qa, run.out, resume=run.resume,
                               run_info=_run_info(run, "sft"))
    if trainer.accelerator.is_main_process:
        last = last_log(trainer)
        print(f"sft-{cfg.target}: {trainer.state.global_step} steps, loss {last.get('loss', float('nan')):.3f}; "
              f"model in {final}; metrics in {os.path.join(run.out, 'metrics.jsonl')}")
    return 0


def register_grpo(sub) -> None:
    from robotr1_train.config import GRPOConfig

    _train_command(sub, "grpo", "GRPO fine-tuning on a QA store (the Robot-R1 recipe)", GRPOConfig, run_grpo)


def register_sft(sub) -> None:
    from robotr1_train.config import SFTConfig

    _train_command(sub, "sft", "SFT baseline on the direct or chain-of-thought answers", SFTConfig, run_sft)


# ---------------------------------------------------------------------------- the rest


def run_make_tiny_model(args) -> int:
    cfg = from_args(TinyModelConfig, args)
    output_dir(cfg.out, "model directory")  # read-only or unwritable: one line, before any work
    from robotr1_train.testing import build_tiny_vlm, qa_corpus

    corpus = qa_corpus(cfg.tokenizer_qa) if cfg.tokenizer_qa else None
    path = build_tiny_vlm(cfg.out, cfg.seed, corpus=corpus, vocab_size=cfg.vocab_size,
                          text_hidden=cfg.hidden_size, layers=cfg.layers)
    print(f"tiny Qwen2.5-VL in {path}")
    return 0


def register_make_tiny_model(sub) -> None:
    help = "write the tiny offline Qwen2.5-VL used by tests and demos"
    p = sub.add_parser("make-tiny-model", help=help, description=help)
    add_config_args(p, TinyModelConfig, config_file=False)
    p.set_defaults(func=run_make_tiny_model)


def run_eval_sim(args) -> int:
    from robotr1_train.evaluation.closed_loop import EvalSimConfig, evaluate

    cfg = from_args(EvalSimConfig, args)
    results = evaluate(cfg)
    for label, s in results["summary"].items():
        o = s["overall"]
        print(f"{label}: success {o['successes']}/{o['episodes']} = {o['success_rate']:.3f} "
              f"(95% CI {o['ci95'][0]:.3f}-{o['ci95'][1]:.3f}), failures "
              + (", ".join(f"{k}={v}" for k, v in o["failures"].items() if v) or "none"))
    print(f"results in {os.path.join(cfg.out, 'results.json')}, report in {os.path.join(cfg.out, 'report.md')}")
    return 0


def register_eval_sim(sub) -> None:
    from robotr1_train.evaluation.closed_loop import EvalSimConfig

    help = "closed-loop evaluation of a policy in the simulator (success rates, report, videos)"
    p = sub.add_parser("eval-sim", help=help, description=help)
    add_config_args(p, EvalSimConfig)
    p.set_defaults(func=run_eval_sim)


def run_eval_qa(args) -> int:
    from robotr1_train.evaluation.offline_qa import EvalQAConfig, evaluate_qa

    cfg = from_args(EvalQAConfig, args)
    results = evaluate_qa(cfg)
    for t, a in list(results["by_type"].items()) + [("all", results["overall"])]:
        l1 = f", mean L1 {a['mean_l1']:.3f} m" if a["mean_l1"] is not None else ""
        print(f"{t}: accuracy {a['accuracy']:.3f} over {a['n']}, parse failures {a['parse_failures']} "
              f"({a['parse_failure_rate']:.3f}){l1}")
    out = cfg.resolved_out()
    print(f"results in {os.path.join(out, 'results.json')}, report in {os.path.join(out, 'report.md')}")
    return 0


def register_eval_qa(sub) -> None:
    from robotr1_train.evaluation.offline_qa import EvalQAConfig

    help = "offline accuracy of a model on a QA store (per type and task)"
    p = sub.add_parser("eval-qa", help=help, description=help)
    add_config_args(p, EvalQAConfig)
    p.set_defaults(func=run_eval_qa)


SUBCOMMANDS: list[Callable] = [register_grpo, register_sft, register_make_tiny_model, register_eval_sim,
                               register_eval_qa]
from robotr1_train.bench.commands import register_eval_bench  # noqa: E402  (Robot-R1 Bench, docs/bench.md)

SUBCOMMANDS.append(register_eval_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = TrainParser(prog=PROG, description="Robot-R1 training: GRPO and SFT for VLMs, and evaluation")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a one-line argparse error (2), see TrainParser
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
