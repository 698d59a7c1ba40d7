"""What the TRL trainers need around them: complete checkpoints, metrics.jsonl, the resolved config.

Checkpoints are TRL's (``RUN_DIR/checkpoint-N/``: weights or adapter, optimiser, scheduler, RNG,
``trainer_state.json``). After the trainer writes one, ``CheckpointSealer`` fsyncs every file and
writes ``robotr1_complete.json`` listing each file's size. ``newest_complete_checkpoint`` resumes from
the newest checkpoint whose seal is there and whose files still have the sealed sizes and whose
``trainer_state.json`` parses; a newer one that fails (killed mid-save, truncated, edited) is skipped
with a warning naming it, never a traceback.

Metrics: every log row TRL produces is appended to ``RUN_DIR/metrics.jsonl`` (one JSON object per
logging step); TensorBoard event files go to ``RUN_DIR/tb`` when ``report_to`` includes tensorboard.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from typing import Callable, Optional

from robotr1_data.errors import UsageError

SEAL = "robotr1_complete.json"
CKPT_RE = re.compile(r"^checkpoint-(\d+)$")


def _warn(msg: str) -> None:
    print(f"robotr1-train: warning: {msg}", file=sys.stderr)


def list_checkpoints(run_dir: str) -> list[tuple[int, str]]:
    """Every ``checkpoint-N`` directory in ``run_dir`` (complete or not), oldest first."""
    if not os.path.isdir(run_dir):
        return []
    out = []
    for name in os.listdir(run_dir):
        m = CKPT_RE.match(name)
        if m and os.path.isdir(os.path.join(run_dir, name)):
            out.append((int(m.group(1)), os.path.join(run_dir, name)))
    return sorted(out)


def _files(ckpt: str) -> dict:
    out = {}
    for root, _, names in os.walk(ckpt):
        for n in names:
            if n == SEAL or n.startswith(f".{SEAL}"):
                continue
            p = os.path.join(root, n)
            out[os.path.relpath(p, ckpt)] = os.path.getsize(p)
    return out


def _fsync_tree(path: str) -> None:
    for root, _, names in os.walk(path):
        for n in names:
            try:
                fd = os.open(os.path.join(root, n), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def seal_checkpoint(ckpt: str) -> None:
    """fsync the checkpoint's files, then write the seal (atomically) with their sizes."""
    _fsync_tree(ckpt)
    tmp = os.path.join(ckpt, f".{SEAL}.tmp")
    with open(tmp, "w") as f:
        json.dump({"files": _files(ckpt)}, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(ckpt, SEAL))


def checkpoint_problem(ckpt: str) -> Optional[str]:
    """Why ``ckpt`` cannot be resumed from (None when it is complete)."""
    seal = os.path.join(ckpt, SEAL)
    try:
        with open(seal) as f:
            want = json.load(f)["files"]
    except FileNotFoundError:
        return "it was never finished (no seal: the run stopped while saving it)"
    except (OSError, ValueError, KeyError, TypeError):
        return f"its seal {SEAL} is damaged"
    have = _files(ckpt)
    for name, size in sorted(want.items()):
        if name not in have:
            return f"{name} is missing"
        if have[name] != size:
            return f"{name} has {have[name]} bytes, {size} were written"
    try:
        with open(os.path.join(ckpt, "trainer_state.json")) as f:
            step = json.load(f)["global_step"]
        int(step)
    except (OSError, ValueError, KeyError, TypeError):
        return "trainer_state.json is unreadable"
    return None


def newest_complete_checkpoint(run_dir: str, warn: Callable[[str], None] = _warn) -> Optional[str]:
    for step, path in reversed(list_checkpoints(run_dir)):
        why = checkpoint_problem(path)
        if why is None:
            return path
        warn(f"skipping incomplete checkpoint {path}: {why}")
    return None


def make_callbacks(run_dir: str, resumed_step: int = 0):
    """TRL/transformers callbacks: seal each checkpoint; append log rows to metrics.jsonl."""
    from transformers import TrainerCallback

    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    if resumed_step >= 0:
        truncate_metrics(metrics_path, resumed_step)

    class CheckpointSealer(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                ckpt = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
                if os.path.isdir(ckpt):
                    seal_checkpoint(ckpt)

    class MetricsFile(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            row = {"step": state.global_step}
            for k, v in logs.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    row[k] = float(v) if math.isfinite(float(v)) else None
            with open(metrics_path, "a") as f:
                f.write(json.dumps(row) + "\n")

    return [CheckpointSealer(), MetricsFile()]


def truncate_metrics(path: str, step: int) -> None:
    """On resume: drop rows logged after the checkpoint, so each step appears once."""
    if not os.path.isfile(path):
        return
    kept = []
    with open(path) as f:
        for line in f:
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except ValueError:  # a row cut by the kill
                continue
    with open(path, "w") as f:
        f.writelines(kept)


def write_run_config(run_dir: str, cfg, extra: Optional[dict] = None, trl_args=None, echo: bool = False) -> None:
    """``RUN_DIR/config.yaml``: our resolved config, the run's inputs and the TRL fields it became."""
    import yaml

    from robotr1_train.config import dump_yaml

    os.makedirs(run_dir, exist_ok=True)
    text = dump_yaml(cfg)
    if extra:
        text += yaml.safe_dump({"run": extra}, sort_keys=False)
    if trl_args is not None:
        from robotr1_train.trl_config import trl_summary

        text += yaml.safe_dump({f"trl_{type(trl_args).__name__}": trl_summary(trl_args)}, sort_keys=False)
    tmp = os.path.join(run_dir, ".config.yaml.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(run_dir, "config.yaml"))
    if echo:
        print(text, file=sys.stderr, end="")


def check_run_dir(out: str, resume: bool) -> None:
    from robotr1_data.errors import output_dir

    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out '{out}' is a file; pass a directory")
    if not resume and list_checkpoints(out):
        raise UsageError(f"run directory '{out}' already has checkpoints; pass --resume to continue it or "
                         "choose a new --out")
    output_dir(out, "run directory")
