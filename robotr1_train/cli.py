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

from robotr1_data.errors import UsageError, output_dir

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
    p.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint in --out")
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


def _run_info(args, command: str) -> dict:
    return {"command": command, "qa": args.qa, "model": args.model}


def _records(args, cfg):
    from robotr1_train.data import load_records
    from robotr1_train.runtime import check_run_dir

    records = load_records(args.qa, cfg.question_types, cfg.max_samples)
    check_run_dir(args.out, args.resume)
    return records


def run_grpo(args) -> int:
    from robotr1_train.config import GRPOConfig, build_config
    from robotr1_train.trl_train import check_vllm

    overrides = _overrides(args)
    if args.use_vllm:
        overrides["use_vllm"] = True
    cfg = build_config(GRPOConfig, args.config, "grpo", overrides)
    check_vllm(cfg)
    records = _records(args, cfg)
    from robotr1_train.trl_train import last_log, train_grpo

    trainer, final = train_grpo(cfg, args.model, records, args.qa, args.out, resume=args.resume,
                                run_info=_run_info(args, "grpo"))
    if trainer.accelerator.is_main_process:
        last = last_log(trainer)
        print(f"grpo: {trainer.state.global_step} steps, reward {last.get('reward', float('nan')):.3f}; "
              f"model in {final}; metrics in {os.path.join(args.out, 'metrics.jsonl')}")
    return 0


def run_sft(args) -> int:
    from robotr1_train.config import SFTConfig, build_config

    overrides = _overrides(args)
    if args.target:
        overrides["target"] = args.target
    cfg = build_config(SFTConfig, args.config, "sft", overrides)
    records = _records(args, cfg)
    from robotr1_train.trl_train import last_log, train_sft

    trainer, final = train_sft(cfg, args.model, records, args.qa, args.out, resume=args.resume,
                               run_info=_run_info(args, "sft"))
    if trainer.accelerator.is_main_process:
        last = last_log(trainer)
        print(f"sft-{cfg.target}: {trainer.state.global_step} steps, loss {last.get('loss', float('nan')):.3f}; "
              f"model in {final}; metrics in {os.path.join(args.out, 'metrics.jsonl')}")
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
    p.add_argument("--use-vllm", action="store_true", help="generate rollouts with vLLM (CUDA and the vllm "
                   "extra; colocate mode unless --vllm-mode server, see docs/training.md)")
    _add_config_flags(p, GRPOConfig, skip=("lora", "use_vllm"))
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


def _task_list(values) -> list:
    out = []
    for v in values or []:
        out.extend(t for t in v.split(",") if t)
    return [] if out in ([], ["all"]) else out


def _add_engine_flag(p) -> None:
    from robotr1_train.engines import ENGINES

    p.add_argument("--engine", choices=ENGINES, default="hf",
                   help="generation engine: hf (transformers generate), vllm (needs CUDA and vllm), auto "
                   "(vllm when it can run here, else hf); the prompts are the same")


def run_eval_sim(args) -> int:
    from robotr1_train.evaluation.closed_loop import EvalSimConfig, evaluate

    cfg = EvalSimConfig(
        policies=args.policy, tasks=_task_list(args.tasks), episodes=args.episodes, seed=args.seed,
        out=args.out, variation=args.variation, max_keypoints=args.max_keypoints,
        max_steps_per_keypoint=args.max_steps_per_keypoint, workers=args.workers, camera=args.camera,
        image_size=tuple(args.image_size), video=not args.no_video, video_every=args.video_every,
        train_data=args.train_data, max_new_tokens=args.max_new_tokens, vlm_gripper=args.vlm_gripper,
        do_sample=args.do_sample, temperature=args.temperature, device=args.device, engine=args.engine,
        show_progress=not args.quiet, backend=args.backend)
    results = evaluate(cfg)
    for label, s in results["summary"].items():
        o = s["overall"]
        print(f"{label}: success {o['successes']}/{o['episodes']} = {o['success_rate']:.3f} "
              f"(95% CI {o['ci95'][0]:.3f}-{o['ci95'][1]:.3f}), failures "
              + (", ".join(f"{k}={v}" for k, v in o["failures"].items() if v) or "none"))
    print(f"results in {os.path.join(args.out, 'results.json')}, report in {os.path.join(args.out, 'report.md')}")
    return 0


def register_eval_sim(sub) -> None:
    p = sub.add_parser("eval-sim", help="closed-loop evaluation of a policy in the simulator (success rates, "
                                        "report, videos)")
    p.add_argument("--policy", action="append", required=True, metavar="SPEC",
                   help="vlm:RUN_DIR, oracle, random or noop; repeat to compare several in one report")
    p.add_argument("--tasks", nargs="+", default=["all"], help="task names (space or comma separated) or 'all'")
    p.add_argument("--episodes", type=int, default=10, help="episodes per task (variations cycle)")
    p.add_argument("--seed", type=int, default=0, help="evaluation seed (its own stream, disjoint from training)")
    p.add_argument("--out", required=True, help="output directory (results.json, report.md, success.png, videos/)")
    p.add_argument("--variation", type=int, default=None, help="evaluate one variation only")
    p.add_argument("--max-keypoints", type=int, default=25, help="keypoint budget per episode")
    p.add_argument("--max-steps-per-keypoint", type=int, default=120, help="control steps (0.05 s) per keypoint")
    p.add_argument("--workers", type=int, default=1, help="parallel simulator processes")
    from robotr1_data.backends import backend_choices

    p.add_argument("--backend", choices=backend_choices(), default="mujoco",
                   help="a registered simulator backend; rlbench: RLBench's own tasks in CoppeliaSim (needs PyRep; "
                   "see docs/rlbench_backend.md)")
    p.add_argument("--camera", default="front", help="the view the VLM sees and the videos show")
    p.add_argument("--image-size", type=int, nargs=2, default=[224, 224], metavar=("H", "W"))
    p.add_argument("--no-video", action="store_true", help="skip the per-episode videos (faster, no GL needed)")
    p.add_argument("--video-every", type=int, default=1, help="keep every n-th control step in the videos")
    p.add_argument("--train-data", action="append", default=[], metavar="DIR",
                   help="training shards (files or directories) to check the eval seeds against")
    g = p.add_argument_group("vlm policy")
    g.add_argument("--max-new-tokens", type=int, default=256)
    g.add_argument("--vlm-gripper", choices=("auto", "keep"), default="auto",
                   help="auto: an answer at the current position toggles the gripper; keep: never changes it")
    g.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--device", default=None, help="cuda, cpu, ... (hf engine; default: cuda when available)")
    _add_engine_flag(g)
    p.add_argument("--quiet", action="store_true", help="no per-episode lines")
    p.set_defaults(func=run_eval_sim)


def run_eval_qa(args) -> int:
    from robotr1_train.evaluation.offline_qa import EvalQAConfig, evaluate_qa

    cfg = EvalQAConfig(qa=args.qa, model=args.model, out=args.out or "", types=_task_list(args.types),
                       max_samples=args.max_samples, batch_size=args.batch_size,
                       max_new_tokens=args.max_new_tokens, do_sample=args.do_sample,
                       temperature=args.temperature, seed=args.seed, device=args.device,
                       engine=args.engine, show_progress=not args.quiet)
    results = evaluate_qa(cfg)
    for t, a in list(results["by_type"].items()) + [("all", results["overall"])]:
        l1 = f", mean L1 {a['mean_l1']:.3f} m" if a["mean_l1"] is not None else ""
        print(f"{t}: accuracy {a['accuracy']:.3f} over {a['n']}, parse failures {a['parse_failures']} "
              f"({a['parse_failure_rate']:.3f}){l1}")
    out = cfg.resolved_out()
    print(f"results in {os.path.join(out, 'results.json')}, report in {os.path.join(out, 'report.md')}")
    return 0


def register_eval_qa(sub) -> None:
    p = sub.add_parser("eval-qa", help="offline accuracy of a model on a QA store (per type and task)")
    p.add_argument("--qa", required=True, help="QA store directory (holds questions.jsonl)")
    p.add_argument("--model", required=True, help="run directory (uses its final/), model or adapter directory")
    p.add_argument("--out", default=None, help="output directory (default: MODEL/eval-qa)")
    p.add_argument("--types", nargs="+", default=None, help="question types (default: all in the store)")
    p.add_argument("--max-samples", type=int, default=-1, help="evaluate the first N questions only")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (with --do-sample)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="hf engine: cuda, cpu, ... (default: cuda when available)")
    _add_engine_flag(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run_eval_qa)


SUBCOMMANDS: list[Callable] = [register_grpo, register_sft, register_make_tiny_model, register_eval_sim,
                               register_eval_qa]
from robotr1_train.bench.commands import register_eval_bench  # noqa: E402  (Robot-R1 Bench, docs/bench.md)

SUBCOMMANDS.append(register_eval_bench)


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
