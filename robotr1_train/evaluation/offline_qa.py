"""Offline evaluation on a QA store (``robotr1-train eval-qa --qa QA_DIR --model RUN_DIR``).

Every question is answered once (greedy by default, by the ``hf`` or ``vllm`` engine of
``robotr1_train.engines``, with the same prompts) and scored with ``robotr1_train.rewards``:

- multiple choice (``waypoint``, ``current``, ``movement``): accuracy = the single ``<answer>`` is
  the correct choice; a parse failure is an answer without exactly one ``<answer>…</answer>`` or
  whose content is not a choice (``[[B]]`` / ``B``);
- open-ended (``waypoint_open``): accuracy = clip(1 − L1, 0, 1) (the paper's ablation reward), mean
  L1 in metres over the parsed answers; a parse failure is an answer that is not ``[x, y, z]``.

Unparseable answers score 0 and are counted, never raised. Results per question type, per task
and type, and overall go to ``OUT/results.json`` and ``OUT/report.md`` with ``OUT/accuracy.png``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from typing import Callable, List, Optional, Sequence

import numpy as np

from robotr1_data.config import check_bounds, comma_list, opt
from robotr1_data.errors import UsageError, output_dir

RESULTS_FILE = "results.json"


def _engines():
    from robotr1_train.engines import ENGINES

    return ENGINES


def _types(values) -> List[str]:
    out = comma_list(values) or []
    return [] if out == ["all"] else out


@dataclasses.dataclass
class EvalQAConfig:
    """Settings of one ``eval-qa`` run (each field is a flag; stored in ``OUT/results.json``)."""

    qa: str = opt(help="QA store directory (holds questions.jsonl)")
    model: str = opt(help="run directory (uses its final/), model or adapter directory")
    out: str = opt("", "output directory (default: MODEL/eval-qa)")
    types: List[str] = opt(help="question types, space or comma separated (default: all in the "
                           "store)", default_factory=list, metavar="TYPE", parse=_types)
    max_samples: int = opt(-1, "evaluate the first N questions only (-1: all)", min=-1)
    batch_size: int = opt(8, "questions per generation batch", min=1)
    max_new_tokens: int = opt(512, "answer length limit in tokens", min=1)
    do_sample: bool = opt(False, "sample instead of greedy decoding")
    temperature: float = opt(1.0, "sampling temperature (with --do-sample; 0 is greedy)", min=0)
    seed: int = opt(0, "generation seed", min=0)
    device: Optional[str] = opt(None, "hf engine: cuda, cpu, ... (default: cuda when available)")
    engine: str = opt("hf", "generation engine: hf (transformers generate), vllm (needs CUDA and "
                      "vllm), auto (vllm when it can run here, else hf); the prompts are the same",
                      choices=_engines)
    keep_samples: int = opt(50, "completions kept in results.json for reading", min=0)
    show_progress: bool = opt(True, "no per-batch progress lines", flag="--quiet")

    def resolved_out(self) -> str:
        return self.out or os.path.join(self.model, "eval-qa")

    def validate(self) -> None:
        """Refuse bad settings before any model or data is loaded (one line each)."""
        from robotr1_train.engines import check_decoding

        check_bounds(self)
        check_decoding(self.max_new_tokens, self.temperature, self.do_sample, self.engine)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise UsageError(f"--batch-size must be a whole number >= 1 (got {self.batch_size})")

    def check(self) -> None:
        self.validate()


def score(text, record: dict) -> dict:
    """``{"kind", "parsed", "correct", "accuracy", "l1", "format"}`` of one completion. Never raises."""
    from robotr1_train.rewards import format_reward, parse_answer, parse_letter, parse_xyz, record_kind

    kind = record_kind(record)
    content = parse_answer(text)
    out = {"kind": kind, "parsed": False, "accuracy": 0.0, "l1": None, "format": format_reward(text)}
    if kind == "mcqa":
        got = parse_letter(content)
        out["parsed"] = got is not None
        out["accuracy"] = 1.0 if got is not None and got == parse_letter(record.get("answer")) else 0.0
        return out
    got = parse_xyz(content)
    target = record.get("target")
    if target is None:
        target = parse_xyz(record.get("answer"))
    if got is None or target is None:
        return out
    l1 = float(np.abs(np.asarray(got, float) - np.asarray(target, float)).sum())
    out.update(parsed=True, l1=l1, accuracy=float(min(1.0, max(0.0, 1.0 - l1))))
    return out


def aggregate(scores: Sequence[dict]) -> dict:
    n = len(scores)
    fails = sum(1 for s in scores if not s["parsed"])
    l1 = [s["l1"] for s in scores if s["l1"] is not None]
    return {
        "n": n,
        "accuracy": float(np.mean([s["accuracy"] for s in scores])) if n else None,
        "parse_failures": fails,
        "parse_failure_rate": fails / n if n else None,
        "format_rate": float(np.mean([s["format"] for s in scores])) if n else None,
        "mean_l1": float(np.mean(l1)) if l1 else None,
    }


def evaluate_qa(cfg: EvalQAConfig, generate_fn: Optional[Callable] = None,
                image_loader: Optional[Callable] = None) -> dict:
    """Answer and score every question; write the results and report. ``generate_fn(records,
    images) -> texts`` replaces the model (tests); ``image_loader`` replaces the shard reader."""
    from robotr1_train.data import load_records, record_images
    from robotr1_train.evaluation.report import write_qa_report

    cfg.check()
    records = load_records(cfg.qa, cfg.types or None, cfg.max_samples)
    out_dir = cfg.resolved_out()
    output_dir(out_dir)
    engine_used = None  # what "auto" resolved to; None when the caller generates
    if generate_fn is None:
        from robotr1_train.policies.vlm import VLMGenerator

        gen = VLMGenerator.from_run_dir(cfg.model, device=cfg.device, engine=cfg.engine,
                                        max_new_tokens=cfg.max_new_tokens, do_sample=cfg.do_sample,
                                        temperature=cfg.temperature, seed=cfg.seed)
        generate_fn = gen.generate
        engine_used = gen.engine.name
    t0 = time.perf_counter()
    scored: List[dict] = []
    bs = max(1, int(cfg.batch_size))
    for start in range(0, len(records), bs):
        chunk = records[start:start + bs]
        images = [record_images(r, cfg.qa, image_loader) for r in chunk]
        try:
            texts = list(generate_fn(chunk, images))
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed batch counts as unparseable answers
            print(f"warning: generation failed for questions {start}..{start + len(chunk) - 1}: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            texts = [None] * len(chunk)
        for r, t in zip(chunk, texts):
            s = score(t, r)
            s.update(id=r.get("id"), type=r.get("type", s["kind"]), task=r.get("task", "unknown"),
                     answer=r.get("answer"), text=t)
            scored.append(s)
        if cfg.show_progress:
            print(f"  {len(scored)}/{len(records)} questions", file=sys.stderr, flush=True)
    by_type, by_task = defaultdict(list), defaultdict(lambda: defaultdict(list))
    for s in scored:
        by_type[s["type"]].append(s)
        by_task[s["task"]][s["type"]].append(s)
    from robotr1_data.qa.templates import QUESTION_TYPES

    order = [t for t in QUESTION_TYPES if t in by_type] + sorted(t for t in by_type if t not in QUESTION_TYPES)
    results = {
        "kind": "eval-qa", "version": 1,
        "config": dataclasses.asdict(cfg) | {"out": out_dir},
        "engine": engine_used,
        "seconds": round(time.perf_counter() - t0, 2),
        "overall": aggregate(scored),
        "by_type": {t: aggregate(by_type[t]) for t in order},
        "by_task": {task: {t: aggregate(v[t]) for t in order if t in v} for task, v in sorted(by_task.items())},
        "samples": [{k: s[k] for k in ("id", "type", "task", "answer", "text", "parsed", "accuracy", "l1")}
                    for s in scored[: max(0, cfg.keep_samples)]],
    }
    with open(os.path.join(out_dir, RESULTS_FILE), "w") as f:
        json.dump(results, f, indent=1, allow_nan=False)
    write_qa_report(out_dir, results)
    return results
