"""``robotr1-train``: GRPO and SFT on Robot-R1 questions, and the tiny offline test model.

    robotr1-train grpo --qa QA_DIR --model PATH_OR_ID --out RUN_DIR [--config configs/robot_r1.yaml]
                       [--lora] [--resume] [--set key=value ...] [--<field-name> value ...]
    robotr1-train sft  --qa QA_DIR --model PATH_OR_ID --out RUN_DIR --target direct|cot [...]
    robotr1-train make-tiny-model --out DIR [--seed N]

Every ``GRPOConfig`` / ``SFTConfig`` field is a flag (``--num-generations 8``) and a ``--set`` key
(``--set kl_coef=0``). Bad input prints one line and exits with code 2. Subcommands register
through ``register_*`` functions (``SUBCOMMANDS``), so evaluation commands can be added beside them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Callable, Optional

from robotr1_data.errors import UsageError

PROG = "robotr1-train"


def _add_config_flags(p: argparse.ArgumentParser, cls, skip=()) -> None:
    g = p.add_argument_group(f"{cls.__name__} fields (override --config; see configs/robot_r1.yaml)")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        g.add_argument(flag, dest=f"cfg__{f.name}", default=argparse.SUPPRESS, metavar="V",
                       help=f"default: {f.default!r}")


def _common_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--qa", required=True, help="QA store directory (holds questions.jsonl)")
    p.add_argument("--model", required=True, help="local save_pretrained directory or hub id")
    p.add_argument("--out", required=True, help="run directory (config, metrics, checkpoints, final model)")
    p.add_argument("--config", default=None, help="YAML config, e.g. configs/robot_r1.yaml")
    p.add_argument("--lora", action="store_true", default=None, help="train a LoRA adapter (sets lora=true)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")


def _overrides(args) -> dict:
    from robotr1_train.config import parse_set

    out = parse_set(args.set)
    for k, v in vars(args).items():
        if k.startswith("cfg__"):
            out[k[5:]] = v
    if args.lora:
        out["lora"] = True
    return out


def _check_out_dir(out: str, resume: bool) -> None:
    from robotr1_train.runtime import list_checkpoints

    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out '{out}' is a file; pass a directory")
    if not resume and list_checkpoints(out):
        raise UsageError(f"run directory '{out}' already has checkpoints; pass --resume to continue it or "
                         "choose a new --out")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create run directory '{out}': {e.strerror}") from e


def _load(args, cfg):
    from robotr1_train.models import load_model_and_processor
    from robotr1_train.runtime import make_accelerator, resolve_dtype

    acc = make_accelerator(cfg)
    cuda = acc.device.type == "cuda"
    lp = load_model_and_processor(
        args.model, lora=cfg.lora, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        dtype=resolve_dtype(cfg, cuda), gradient_checkpointing=cfg.gradient_checkpointing,
        device=str(acc.device),
    )
    return acc, lp


def run_grpo(args) -> int:
    from robotr1_train.config import GRPOConfig, build_config
    from robotr1_train.data import load_records
    from robotr1_train.runtime import write_run_config

    cfg = build_config(GRPOConfig, args.config, "grpo", _overrides(args))
    records = load_records(args.qa, cfg.question_types, cfg.max_samples)
    _check_out_dir(args.out, args.resume)
    acc, lp = _load(args, cfg)
    if acc.is_main_process:
        write_run_config(args.out, cfg, {"command": "grpo", "qa": args.qa, "model": args.model,
                                         "questions": len(records)})
    from robotr1_train.grpo import GRPOTrainer

    trainer = GRPOTrainer(cfg, lp.model, lp.processor, records, args.out, qa_dir=args.qa, accelerator=acc)
    last = trainer.train(resume=args.resume)
    final = trainer.save_model()
    if acc.is_main_process:
        print(f"grpo: {trainer.step} steps, reward {last.get('reward/mean', float('nan')):.3f}; "
              f"model in {final}; metrics in {os.path.join(args.out, 'metrics.jsonl')}")
    return 0


def run_sft(args) -> int:
    from robotr1_train.config import SFTConfig, build_config
    from robotr1_train.data import load_records
    from robotr1_train.runtime import write_run_config

    overrides = _overrides(args)
    if args.target:
        overrides["target"] = args.target
    cfg = build_config(SFTConfig, args.config, "sft", overrides)
    records = load_records(args.qa, cfg.question_types, cfg.max_samples)
    _check_out_dir(args.out, args.resume)
    acc, lp = _load(args, cfg)
    if acc.is_main_process:
        write_run_config(args.out, cfg, {"command": "sft", "qa": args.qa, "model": args.model,
                                         "questions": len(records)})
    from robotr1_train.sft import SFTTrainer

    trainer = SFTTrainer(cfg, lp.model, lp.processor, records, args.out, qa_dir=args.qa, accelerator=acc)
    last = trainer.train(resume=args.resume)
    final = trainer.save_model()
    if acc.is_main_process:
        print(f"sft-{cfg.target}: {trainer.step} steps, loss {last.get('sft/loss', float('nan')):.3f}; "
              f"model in {final}")
    return 0


def run_make_tiny_model(args) -> int:
    from robotr1_train.testing import build_tiny_vlm

    path = build_tiny_vlm(args.out, args.seed)
    print(f"tiny Qwen2.5-VL in {path}")
    return 0


def register_grpo(sub) -> None:
    from robotr1_train.config import GRPOConfig

    p = sub.add_parser("grpo", help="GRPO fine-tuning on a QA store (the Robot-R1 recipe)")
    _common_run_args(p)
    _add_config_flags(p, GRPOConfig, skip=("lora",))
    p.set_defaults(func=run_grpo)


def register_sft(sub) -> None:
    from robotr1_train.config import SFTConfig

    p = sub.add_parser("sft", help="SFT baseline on the direct or chain-of-thought answers")
    _common_run_args(p)
    p.add_argument("--target", choices=("direct", "cot"), default=None, help="which answer to imitate")
    _add_config_flags(p, SFTConfig, skip=("lora", "target"))
    p.set_defaults(func=run_sft)


def register_make_tiny_model(sub) -> None:
    p = sub.add_parser("make-tiny-model", help="write the tiny offline Qwen2.5-VL used by tests and demos")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_make_tiny_model)


# Evaluation commands (eval-qa, eval-sim) add their register function here.
SUBCOMMANDS: list[Callable] = [register_grpo, register_sft, register_make_tiny_model]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Robot-R1 training: GRPO and SFT for VLMs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
