"""What both trainers share: the accelerator, optimiser and schedule, checkpoints, RNG, metrics.

Checkpoints (``RUN_DIR/checkpoints/step_NNNNNN/``) hold the trainable parameters (only the LoRA
adapter under LoRA), the optimiser and schedule, every RNG state (python, numpy, torch, CUDA) and the
step; data order is a function of (seed, step), so ``--resume`` on CPU continues bit-for-bit.
With several processes, accelerate's ``save_state`` / ``load_state`` write the (possibly sharded)
model and optimiser instead.

Metrics go to ``RUN_DIR/metrics.jsonl`` (one JSON object per logged step) and TensorBoard
(``RUN_DIR/tb``).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import sys
import time
from typing import Optional

import numpy as np
import torch

from robotr1_data.errors import UsageError


def make_accelerator(cfg):
    from accelerate import Accelerator

    mp = cfg.mixed_precision
    if mp == "auto":
        mp = "bf16" if torch.cuda.is_available() else "no"
    return Accelerator(mixed_precision=mp)


def resolve_dtype(cfg, cuda: bool) -> str:
    """fp32 master weights unless LoRA on GPU (bf16 frozen base, fp32 adapters)."""
    if cfg.dtype != "auto":
        return cfg.dtype
    return "bf16" if (cuda and cfg.lora) else "fp32"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def make_optimizer(params, cfg):
    return torch.optim.AdamW(
        params, lr=cfg.learning_rate, betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps,
        weight_decay=cfg.weight_decay,
    )


def make_scheduler(optimizer, total_updates: int, warmup_ratio: float):
    """Constant learning rate after a linear warm-up (EasyR1's default schedule)."""
    warm = int(math.ceil(max(0.0, warmup_ratio) * max(1, total_updates)))

    def factor(i):
        return min(1.0, (i + 1) / warm) if warm > 0 else 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def trainable_state(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, state: dict) -> None:
    params = dict(model.named_parameters())
    missing = [n for n in state if n not in params]
    if missing:
        raise UsageError(
            f"checkpoint does not match the model (e.g. parameter '{missing[0]}' is missing); resume with "
            "the same --model and the same --lora setting"
        )
    with torch.no_grad():
        for n, v in state.items():
            params[n].copy_(v.to(params[n].device, params[n].dtype))


CKPT_RE = re.compile(r"^step_(\d+)$")


def checkpoint_dir(run_dir: str, step: int) -> str:
    return os.path.join(run_dir, "checkpoints", f"step_{step:06d}")


def list_checkpoints(run_dir: str) -> list[tuple[int, str]]:
    root = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(root):
        return []
    out = []
    for name in os.listdir(root):
        m = CKPT_RE.match(name)
        if m and os.path.isfile(os.path.join(root, name, "trainer_state.json")):
            out.append((int(m.group(1)), os.path.join(root, name)))
    return sorted(out)


def save_checkpoint(run_dir: str, step: int, model, optimizer, scheduler, accelerator, extra: dict,
                    keep: int = 0) -> str:
    d = checkpoint_dir(run_dir, step)
    tmp = d + ".tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp, exist_ok=True)
    accelerator.wait_for_everyone()
    if accelerator.num_processes > 1:
        accelerator.save_state(tmp)
    elif accelerator.is_main_process:
        torch.save(
            {
                "model": trainable_state(accelerator.unwrap_model(model)),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng_state(),
            },
            os.path.join(tmp, "state.pt"),
        )
    if accelerator.is_main_process:
        with open(os.path.join(tmp, "trainer_state.json"), "w") as f:
            json.dump({"step": step, **extra}, f, indent=1)
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
        if keep and keep > 0:
            for _, old in list_checkpoints(run_dir)[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return d


def load_checkpoint(run_dir: str, model, optimizer, scheduler, accelerator) -> int:
    """Restore the newest checkpoint in ``run_dir``; return its step."""
    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise UsageError(f"--resume: no checkpoint in '{run_dir}/checkpoints'; start without --resume")
    step, d = ckpts[-1]
    if accelerator.num_processes > 1:
        accelerator.load_state(d)
    else:
        state = torch.load(os.path.join(d, "state.pt"), map_location="cpu", weights_only=False)
        load_trainable_state(accelerator.unwrap_model(model), state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
    with open(os.path.join(d, "trainer_state.json")) as f:
        saved = json.load(f)
    return int(saved["step"])


class MetricsLogger:
    """JSON Lines + TensorBoard; only the main process writes."""

    def __init__(self, run_dir: str, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self.path = os.path.join(run_dir, "metrics.jsonl")
        if enabled:
            os.makedirs(run_dir, exist_ok=True)
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(os.path.join(run_dir, "tb"))
            except Exception as e:  # noqa: BLE001 - TensorBoard is optional
                print(f"robotr1-train: TensorBoard off ({type(e).__name__}: {e})", file=sys.stderr)

    def log(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        row = {"step": step, "time": time.time()}
        row.update({k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v)
                    for k, v in metrics.items()})
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.tb is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v)):
                    self.tb.add_scalar(k, float(v), step)
            self.tb.flush()

    def truncate_after(self, step: int) -> None:
        """On resume: drop rows logged after the checkpoint, so the file has one row per step."""
        if not (self.enabled and os.path.isfile(self.path)):
            return
        with open(self.path) as f:
            rows = [line for line in f if line.strip()]
        kept = [line for line in rows if json.loads(line).get("step", 0) <= step]
        with open(self.path, "w") as f:
            f.writelines(kept)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def progress(total: int, initial: int, enabled: bool, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, dynamic_ncols=True,
                file=sys.stderr)


def write_run_config(run_dir: str, cfg, extra: Optional[dict] = None, echo: bool = True) -> None:
    from robotr1_train.config import dump_yaml

    os.makedirs(run_dir, exist_ok=True)
    text = dump_yaml(cfg)
    if extra:
        import yaml

        text += yaml.safe_dump({"run": extra}, sort_keys=False)
    with open(os.path.join(run_dir, "config.yaml"), "w") as f:
        f.write(text)
    if echo:
        print(text, file=sys.stderr, end="")


def peak_memory_bytes() -> int:
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except Exception:  # noqa: BLE001
        return 0


def save_final_model(accelerator, policy, processor, out_dir: str) -> str:
    """Save the trained policy (or LoRA adapter) and its processor once, from the main process."""
    import os

    from robotr1_train.models import save_processor

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        os.makedirs(out_dir, exist_ok=True)
        policy.save_pretrained(out_dir, safe_serialization=True)
        save_processor(processor, out_dir)
    accelerator.wait_for_everyone()
    return out_dir
