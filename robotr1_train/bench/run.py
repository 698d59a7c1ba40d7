"""``robotr1-train eval-bench``: answer every bench question, judge it 0-3, write the results.

Order of work, so nothing is paid twice and nothing half-done looks done:

1. the judge is checked first (an unreachable endpoint or a bad key stops here, exit 2);
2. answers are appended to ``OUT/answers.jsonl`` after every batch (a rerun answers only the rest);
3. LLM judgements are appended to the judge cache (``OUT/judge_cache.jsonl`` unless
   ``--judge-cache``) as they arrive (a rerun judges only the rest);
4. ``results.json`` (``"complete": true``), ``report.md`` and ``scores.png`` are written atomically
   at the end; stale ones are removed once the judge passed step 1 (they are rebuilt from 2 and 3).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional

from robotr1_data.errors import UsageError, output_dir

from . import answer as A
from .judges import OpenAIJudge, make_judge
from .rubrics import RUBRIC_VERSION
from .stats import mean_ci

RESULTS = "results.json"
ANSWERS = "answers.jsonl"
CACHE = "judge_cache.jsonl"


@dataclasses.dataclass
class EvalBenchConfig:
    """Settings of one ``eval-bench`` run (each field is a command option)."""

    model: str = dataclasses.field(default="", metadata={
        "help": "run directory, model or adapter directory; or oracle (answers = references) or noop "
                "(\"I don't know\")", "required": True, "metavar": "M"})
    bench: str = dataclasses.field(default="", metadata={
        "help": "bench store (robotr1-data build-bench)", "required": True, "metavar": "BENCH"})
    judge: str = dataclasses.field(default="", metadata={
        "help": "rules | openai:MODEL (any OpenAI-compatible endpoint) | local:PATH (a local HF model)",
        "required": True, "metavar": "J"})
    out: str = dataclasses.field(default="", metadata={
        "help": "output directory (results.json, report.md, scores.png, answers and judge cache)",
        "required": True, "metavar": "OUT"})
    engine: str = dataclasses.field(default="hf", metadata={
        "help": "generation engine for the model (robotr1_train.engines; auto: vllm when it can run here)",
        "choices": ("hf", "vllm", "auto")})
    concurrency: int = dataclasses.field(default=4, metadata={
        "help": "judge requests in flight at once", "metavar": "K"})
    judge_base_url: str = dataclasses.field(default="", metadata={
        "help": "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 for vllm serve "
                "(default: $OPENAI_BASE_URL, else OpenAI); the key is $OPENAI_API_KEY", "metavar": "URL"})
    judge_timeout: float = dataclasses.field(default=60.0, metadata={
        "help": "seconds per judge request", "metavar": "S"})
    judge_retries: int = dataclasses.field(default=4, metadata={
        "help": "retries (exponential backoff) on 429, 5xx and connection errors", "metavar": "N"})
    judge_cache: str = dataclasses.field(default="", metadata={
        "help": "judge cache file, shareable between runs (default: OUT/judge_cache.jsonl)", "metavar": "PATH"})
    batch_size: int = dataclasses.field(default=8, metadata={"help": "questions per generation batch"})
    max_new_tokens: int = dataclasses.field(default=256, metadata={"help": "answer length limit in tokens"})
    max_samples: int = dataclasses.field(default=-1, metadata={
        "help": "evaluate the first N questions of each type only (-1: all)", "metavar": "N"})
    seed: int = dataclasses.field(default=0, metadata={"help": "generation seed"})
    device: str = dataclasses.field(default="", metadata={"help": "torch device (default: cuda if available)"})
    quiet: bool = dataclasses.field(default=False, metadata={"help": "print only the final table and errors"})

    def validate(self) -> "EvalBenchConfig":
        for name in ("model", "bench", "judge", "out"):
            if not getattr(self, name):
                raise UsageError(f"eval-bench needs --{name}")
        kind, _, arg = self.judge.partition(":")
        if not (self.judge == "rules" or (kind in ("openai", "local") and arg)):
            raise UsageError(f"unknown judge '{self.judge}'; use rules, openai:MODEL (e.g. openai:gpt-4o) or "
                             "local:PATH")
        if self.engine not in ("hf", "vllm", "auto"):
            raise UsageError(f"unknown engine '{self.engine}'; use hf, vllm or auto")
        for name in ("concurrency", "batch_size", "max_new_tokens", "judge_retries"):
            v = int(getattr(self, name))
            if v < (0 if name == "judge_retries" else 1):
                raise UsageError(f"--{name.replace('_', '-')} must be a positive number, got {v}")
            setattr(self, name, v)
        if not self.judge_timeout > 0:
            raise UsageError(f"--judge-timeout must be > 0 seconds, got {self.judge_timeout}")
        return self


def _read_answers(path: str, label: str, fingerprint: str) -> Dict[str, str]:
    got: Dict[str, str] = {}
    if not os.path.isfile(path):
        return got
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line of a killed run
            if row.get("model") != label:
                raise UsageError(f"{path} holds answers of model {row.get('model')!r}, not {label!r}; "
                                 "choose another --out for this model")
            if row.get("fingerprint") != fingerprint:
                raise UsageError(f"{path} holds answers of another version of {label} or other generation "
                                 "settings; choose another --out or delete that file to answer again")
            got[row["id"]] = row["text"]
    return got


def _answer(cfg: EvalBenchConfig, records: List[dict], path: str, label: str,
            generate: Optional[Callable], log) -> Dict[str, str]:
    from robotr1_data.bench.builder import load_image

    fingerprint = A.model_fingerprint(cfg.model, engine=cfg.engine, max_new_tokens=cfg.max_new_tokens,
                                      seed=cfg.seed)
    have = _read_answers(path, label, fingerprint)
    todo = [r for r in records if r["id"] not in have]
    if todo and generate is None:
        generate = A.make_answerer(cfg.model, cfg.engine, cfg.device, cfg.max_new_tokens, cfg.seed)
    if have:
        log(f"  {len(have)} answers kept from an earlier run, {len(todo)} to go")
    with open(path, "a", encoding="utf-8") as fh:
        for start in range(0, len(todo), cfg.batch_size):
            chunk = todo[start:start + cfg.batch_size]
            images = [[load_image(r, cfg.bench)] for r in chunk]
            texts = list(generate(chunk, images))
            for r, t in zip(chunk, texts):
                have[r["id"]] = t if isinstance(t, str) else ""
                row = {"id": r["id"], "model": label, "fingerprint": fingerprint, "text": have[r["id"]]}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            log(f"  answered {start + len(chunk)}/{len(todo)}")
    return have


def evaluate_bench(cfg: EvalBenchConfig, generate: Optional[Callable] = None, log=None) -> dict:
    """Run the whole evaluation; ``generate(records, images) -> texts`` replaces the model (tests)."""
    from robotr1_data.bench.builder import read_bench
    from robotr1_data.files import atomic_write_text

    from .report import CHART, REPORT, write_report

    cfg.validate()
    log = log or ((lambda *a, **k: None) if cfg.quiet else (lambda m: print(m, file=sys.stderr, flush=True)))
    records, summary = read_bench(cfg.bench)
    if cfg.max_samples > 0:  # per type, so a quick look still covers all four
        seen: Dict[str, int] = defaultdict(int)
        keep = []
        for r in records:
            seen[r["type"]] += 1
            if seen[r["type"]] <= cfg.max_samples:
                keep.append(r)
        records = keep
    out = str(output_dir(cfg.out, "eval-bench output directory"))
    judge = make_judge(cfg.judge, cfg.judge_cache or os.path.join(out, CACHE), cfg.judge_base_url,
                       cfg.concurrency, cfg.judge_timeout, cfg.judge_retries, cfg.device or None)
    if isinstance(judge, OpenAIJudge):
        judge.check()
    for stale in (RESULTS, REPORT, CHART):  # rebuilt from answers and cache at the end of this run
        try:
            os.remove(os.path.join(out, stale))
        except FileNotFoundError:
            pass
    t0 = time.perf_counter()
    label = A.model_label(cfg.model)
    texts = _answer(cfg, records, os.path.join(out, ANSWERS), label, generate, log)
    answers = [A.extract_answer(texts[r["id"]]) for r in records]
    log(f"  judging {len(records)} answers with {judge.name}")
    verdicts = judge.judge_all(list(zip(records, answers)),
                               progress=lambda n: log(f"  judged {n}/{len(records)}") if n % 10 == 0 else None)
    rows = []
    for r, text, ans, v in zip(records, (texts[r["id"]] for r in records), answers, verdicts):
        rows.append({"id": r["id"], "type": r["type"], "task": r["task"], "reference": r["reference"],
                     "completion": text, "answer": ans, "score": v["score"], "judge_reply": v["reply"],
                     "judge_tries": v["tries"], "cached": v["cached"]})
    by_type, by_task = defaultdict(list), defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_type[row["type"]].append(row["score"])
        by_task[row["task"]][row["type"]].append(row["score"])
    results = {
        "kind": "eval-bench", "version": 1, "complete": True,
        "model": label, "judge": judge.name, "rubric_version": RUBRIC_VERSION, "bench": os.path.abspath(cfg.bench),
        "bench_version": summary.get("bench_version"), "num_questions": len(rows),
        "config": dataclasses.asdict(cfg), "seconds": round(time.perf_counter() - t0, 2),
        "judge_requests": getattr(judge, "requests", 0),
        "overall": mean_ci([row["score"] for row in rows]),
        "by_type": {t: mean_ci(v) for t, v in by_type.items()},
        "by_task": {task: {t: mean_ci(v) for t, v in per.items()} for task, per in sorted(by_task.items())},
        "questions": rows,
    }
    write_report(out, results)  # report first: results.json is the marker of a finished run
    atomic_write_text(os.path.join(out, RESULTS), json.dumps(results, indent=1, allow_nan=False) + "\n")
    return results

