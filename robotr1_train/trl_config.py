"""Our config (``robotr1_train.config``, the names in configs/robot_r1.yaml) -> TRL's config objects.

Batch sizes: ours count *prompts* (as the paper and EasyR1 do), TRL's count *completions*
(prompt x G). With ``W`` processes and micro batch ``m`` completions per forward:

- ``generation_batch_size = rollout_batch_size x G`` completions per generation phase;
- ``gradient_accumulation_steps = global_batch_size x G / (m x W)``, so one optimiser update sees
  ``global_batch_size`` prompts' completions; TRL derives ``steps_per_generation`` from the two,
  so a rollout of 512 prompts gives 4 updates of 128 (the paper's setting).

If ``m`` does not divide a batch evenly the micro batch is lowered to the largest size that does
(it only changes memory use and the number of forwards, not the update) and a note is printed.
The mapping is the table in docs/training.md; ``tests/test_train_trl.py`` checks every value.
"""

from __future__ import annotations

import sys
from enum import Enum

from robotr1_data.errors import UsageError
from robotr1_train.config import GRPOConfig, SFTConfig, report_targets

LOSS_TYPES = {"token_mean": "dapo", "seq_mean_token_mean": "grpo"}


def _precision(cfg, cuda: bool) -> dict:
    mp = cfg.mixed_precision
    if mp == "auto":
        mp = "bf16" if cuda else "no"
    return {"bf16": mp == "bf16", "fp16": mp == "fp16"}


def _micro(want: int, total: int, world: int, what: str, log) -> int:
    """The largest micro batch <= ``want`` that splits ``total`` completions evenly over ``world``."""
    if total % world:
        raise UsageError(f"{what} ({total} sequences) does not split over {world} processes; choose batch sizes "
                         f"whose sequence counts are multiples of {world}")
    per = total // world
    m = max(d for d in range(1, min(want, per) + 1) if per % d == 0)
    if m != want:
        log(f"robotr1-train: micro_batch_size {want} -> {m} so that {what} ({total} sequences over {world} "
            f"process(es)) splits into whole micro batches")
    return m


def _common(cfg, out_dir: str, cuda: bool) -> dict:
    out = dict(
        output_dir=out_dir,
        seed=cfg.seed,
        data_seed=cfg.seed,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        adam_beta1=cfg.adam_beta1,
        adam_beta2=cfg.adam_beta2,
        adam_epsilon=cfg.adam_eps,
        max_grad_norm=cfg.max_grad_norm,
        warmup_steps=float(cfg.lr_warmup_ratio),  # a float < 1 is a ratio of the total steps
        lr_scheduler_type="constant_with_warmup",  # EasyR1's schedule: warm-up, then constant
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if cfg.save_steps > 0 else "no",
        save_steps=cfg.save_steps if cfg.save_steps > 0 else 500,
        save_total_limit=cfg.save_total_limit or None,
        report_to=report_targets(cfg.report_to) or "none",
        disable_tqdm=not cfg.progress_bar,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        use_cpu=not cuda,
        **_precision(cfg, cuda),
    )
    # TRL turns gradient checkpointing on by default; ours: on for GPU, off on CPU (tiny models).
    gc = cuda if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    # transformers >= 5.x names it activation_checkpointing (the old name warns); older ones only
    # know gradient_checkpointing.
    name = "activation_checkpointing" if _has_arg("activation_checkpointing") else "gradient_checkpointing"
    out[name] = bool(gc)
    if gc:
        out[f"{name}_kwargs"] = {"use_reentrant": False}
    return out


def _has_arg(name: str) -> bool:
    import dataclasses

    from transformers import TrainingArguments

    return any(f.name == name for f in dataclasses.fields(TrainingArguments))


def grpo_args(cfg: GRPOConfig, out_dir: str, *, n_prompts: int, world_size: int = 1, cuda: bool = False,
              vision_token_ids=(), log=None):
    """TRL ``GRPOConfig`` (or ``RLOOConfig`` when ``advantage_estimator`` is rloo) for ``cfg``."""
    log = log or (lambda m: print(m, file=sys.stderr))
    G = cfg.num_generations
    rollout = min(cfg.rollout_batch_size, n_prompts)
    glob = min(cfg.global_batch_size, rollout)
    if rollout % glob:
        raise UsageError(f"rollout_batch_size {rollout} is not a multiple of global_batch_size {glob} "
                         f"(with {n_prompts} questions); choose sizes so each rollout splits into whole updates")
    micro = _micro(cfg.micro_batch_size, glob * G, world_size, "an update", log)
    kwargs = _common(cfg, out_dir, cuda)
    kwargs.update(
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=glob * G // (micro * world_size),
        generation_batch_size=rollout * G,
        num_generations=G,
        num_iterations=cfg.num_iterations,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        top_k=int(cfg.top_k),
        max_completion_length=cfg.max_response_length,
        beta=cfg.kl_coef,
        epsilon=cfg.clip_ratio,
        epsilon_high=cfg.clip_ratio if cfg.clip_ratio_high is None else cfg.clip_ratio_high,
        reward_weights=[cfg.format_weight, cfg.accuracy_weight],
        log_completions=cfg.log_completions,
        num_completions_to_print=cfg.num_completions_to_print,
        use_vllm=cfg.use_vllm,
        vllm_mode=cfg.vllm_mode,
        vllm_server_base_url=cfg.vllm_server_base_url,
        vllm_gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
        # Image/video placeholders must never be sampled: the forward pass would look for image
        # features that do not exist (TRL suppresses only the image pad token by default).
        generation_kwargs={"suppress_tokens": list(vision_token_ids)} if vision_token_ids else None,
    )
    if cfg.advantage_estimator == "rloo":
        from trl import RLOOConfig

        kwargs["normalize_advantages"] = cfg.std_normalize
        return RLOOConfig(**kwargs)
    from trl import GRPOConfig as TRLGRPOConfig

    kwargs.update(
        loss_type=LOSS_TYPES[cfg.loss_agg_mode],
        scale_rewards="group" if cfg.std_normalize else "none",
    )
    return TRLGRPOConfig(**kwargs)


def sft_args(cfg: SFTConfig, out_dir: str, *, world_size: int = 1, cuda: bool = False, log=None):
    """TRL ``SFTConfig`` for ``cfg``: loss on the completion (the target) only."""
    from trl import SFTConfig as TRLSFTConfig

    log = log or (lambda m: print(m, file=sys.stderr))
    micro = _micro(cfg.micro_batch_size, cfg.global_batch_size, world_size, "an update", log)
    kwargs = _common(cfg, out_dir, cuda)
    kwargs.update(
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=cfg.global_batch_size // (micro * world_size),
        max_length=cfg.max_prompt_length + cfg.max_response_length,
        completion_only_loss=True,
        dataset_kwargs={"skip_prepare_dataset": True},  # TRL's VLM path: the collator tokenises
    )
    return TRLSFTConfig(**kwargs)


SUMMARY_FIELDS = (
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "warmup_steps",
    "lr_scheduler_type", "num_train_epochs", "max_steps", "seed", "per_device_train_batch_size",
    "gradient_accumulation_steps", "generation_batch_size", "steps_per_generation", "num_generations",
    "num_iterations", "temperature", "top_p", "top_k", "max_completion_length", "max_length", "beta", "epsilon",
    "epsilon_high", "loss_type", "scale_rewards", "normalize_advantages", "reward_weights", "completion_only_loss",
    "use_vllm", "vllm_mode", "bf16", "fp16", "gradient_checkpointing", "save_steps", "save_total_limit",
    "logging_steps", "report_to", "log_completions",
)


def trl_summary(args) -> dict:
    """The TRL fields this run set, as plain values (written to RUN_DIR/config.yaml)."""
    out = {}
    for name in SUMMARY_FIELDS:
        if hasattr(args, name):
            v = getattr(args, name)
            if isinstance(v, Enum):
                v = v.value
            out[name] = v if isinstance(v, (int, float, str, bool, list, type(None))) else str(v)
    return out
