"""One configuration object per command: ``GRPOConfig`` and ``SFTConfig``.

Field names are ours (stable for scripts and ``--set``); ``robotr1_train.trl_config`` maps them onto
TRL's ``GRPOConfig`` / ``RLOOConfig`` / ``SFTConfig`` (docs/training.md has the table).

Defaults reproduce the Robot-R1 paper (arXiv 2506.00070, run with EasyR1): G = 5 samples per prompt at
temperature 1.0, lr 1e-6, weight decay 1e-2, KL to the reference with the low-variance (k3) estimator
at coefficient 1e-2, ratio clip 0.2, prompt and response lengths 2048, rollout batch 512 prompts,
update batch 128 prompts, 5 epochs. SFT baselines use lr 1e-5.

Each field's ``opt(default, help, min=..., choices=...)`` is its flag, ``--set`` key, YAML key, help
line and bounds at once (``robotr1_data.config`` builds the command from it). Precedence: dataclass
defaults < YAML file (``--config``; a ``grpo:`` / ``sft:`` section or flat keys) < ``--set key=value``
< per-field flags. Unknown keys raise ``UsageError`` with a suggestion. The resolved config is written
to ``RUN_DIR/config.yaml``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import List, Optional

from robotr1_data.config import check_bounds, comma_list, opt
from robotr1_data.errors import UsageError, did_you_mean

ADVANTAGE_ESTIMATORS = ("grpo", "rloo", "reinforce_pp")
KL_ESTIMATORS = ("low_var_kl",)
LOSS_AGG_MODES = ("token_mean", "seq_mean_token_mean")
VLLM_MODES = ("colocate", "server")
SECTIONS = ("grpo", "sft", "eval")  # the sections of configs/robot_r1.yaml-style files


@dataclass
class CommonConfig:
    seed: int = opt(1, "seed of training (data order, sampling, LoRA init)", min=0)
    epochs: int = opt(5, "passes over the questions (use --max-steps to stop earlier)", min=1)
    learning_rate: float = opt(1e-6, "AdamW learning rate", min=0)
    weight_decay: float = opt(1e-2, "AdamW weight decay", min=0)
    adam_beta1: float = opt(0.9, "AdamW beta1", min=0, max=1)
    adam_beta2: float = opt(0.999, "AdamW beta2", min=0, max=1)
    adam_eps: float = opt(1e-8, "AdamW epsilon", min=0)
    max_grad_norm: float = opt(1.0, "gradient clipping norm", min=0)
    lr_warmup_ratio: float = opt(0.0, "share of the steps spent warming the learning rate up, "
                                 "then constant", min=0, max=1)
    micro_batch_size: int = opt(4, "sequences per forward/backward per device", min=1)
    max_prompt_length: int = opt(2048, "longest prompt in tokens (longer ones are refused)", min=1)
    max_steps: int = opt(-1, "stop after this many optimiser updates (-1: run all epochs)", min=-1)
    save_steps: int = opt(50, "checkpoint every N optimiser updates (0: only at the end)", min=0)
    save_total_limit: int = opt(2, "step checkpoints kept (0: all)", min=0)
    logging_steps: int = opt(1, "log metrics every N optimiser updates", min=1)
    report_to: str = opt("tensorboard", "tensorboard | wandb | tensorboard,wandb | none")
    question_types: Optional[List[str]] = opt(
        None, "train on these question types only, space or comma separated (default: all)",
        metavar="TYPE", parse=comma_list)
    max_samples: int = opt(-1, "use only the first N questions (-1: all)", min=-1)
    # model
    lora: bool = opt(False, "train a LoRA adapter instead of every weight")
    lora_r: int = opt(16, "LoRA rank", min=1)
    lora_alpha: int = opt(32, "LoRA alpha", min=1)
    lora_dropout: float = opt(0.0, "LoRA dropout", min=0, max=1)
    dtype: str = opt("auto", "weights' dtype (auto: bf16 on GPU, fp32 on CPU)",
                     choices=("auto", "bf16", "fp16", "fp32"))
    mixed_precision: str = opt("auto", "autocast (auto: bf16 on GPU, none on CPU)",
                               choices=("auto", "no", "bf16", "fp16"))
    gradient_checkpointing: Optional[bool] = opt(
        None, "recompute activations in the backward pass (none: on for GPU, off on CPU)")
    progress_bar: bool = opt(True, "show the progress bar", bool_value=True)

    def validate(self) -> None:
        _common_validate(self)


@dataclass
class GRPOConfig(CommonConfig):
    num_generations: int = opt(5, "G: completions sampled per prompt (advantages compare them)",
                               min=2)
    temperature: float = opt(1.0, "rollout sampling temperature (> 0)", min=0)
    top_p: float = opt(1.0, "nucleus sampling of rollouts, in (0, 1]", min=0, max=1)
    top_k: int = opt(0, "sample rollouts from the k likeliest tokens only (0: all); with a high "
                     "temperature it spreads the samples over the plausible answers without "
                     "breaking the format tokens (docs/benchmarks.md, Learning)", min=0)
    max_response_length: int = opt(2048, "longest completion in tokens", min=1)
    rollout_batch_size: int = opt(512, "prompts per rollout (one generation phase)", min=1)
    global_batch_size: int = opt(128, "prompts per optimiser update (a rollout splits into "
                                 "updates of this many)", min=1)
    num_iterations: int = opt(1, "mu: passes over the same rollouts", min=1)
    advantage_estimator: str = opt("grpo", "grpo (TRL GRPOTrainer) | rloo (RLOOTrainer) | "
                                   "reinforce_pp (EasyR1 recipe only)",
                                   choices=ADVANTAGE_ESTIMATORS)
    std_normalize: bool = opt(True, "divide advantages by the group's standard deviation",
                              bool_value=True)
    kl_coef: float = opt(1e-2, "coefficient of the KL to the frozen reference (TRL beta)", min=0)
    kl_estimator: str = opt("low_var_kl", "Schulman's k3 estimator, what TRL's KL term computes",
                            choices=KL_ESTIMATORS)
    clip_ratio: float = opt(0.2, "PPO ratio clip (TRL epsilon)", min=0)
    clip_ratio_high: Optional[float] = opt(None, "upper ratio clip (none: same as --clip-ratio)",
                                           min=0)
    loss_agg_mode: str = opt("token_mean", "token_mean (TRL loss_type dapo) | "
                             "seq_mean_token_mean (TRL grpo)", choices=LOSS_AGG_MODES)
    format_weight: float = opt(1.0, "R = format_weight * format + accuracy_weight * accuracy",
                               min=0)
    accuracy_weight: float = opt(1.0, "weight of the accuracy reward", min=0)
    log_completions: bool = opt(True, "keep a sample of completions every logging step "
                                "(completions/*.parquet)", bool_value=True)
    num_completions_to_print: int = opt(2, "completions printed per logging step", min=0)
    use_vllm: bool = opt(False, "generate rollouts with vLLM (CUDA and the vllm extra; colocate "
                         "mode unless --vllm-mode server, docs/training.md)")
    vllm_mode: str = opt("colocate", "colocate: vLLM inside each training process | server: "
                         "`trl vllm-serve`", choices=VLLM_MODES)
    vllm_server_base_url: Optional[str] = opt(None, "server mode: its URL, e.g. "
                                              "http://10.0.0.2:8000")
    vllm_gpu_memory_utilization: float = opt(0.3, "colocate: the share of GPU memory vLLM may "
                                             "take", min=0, max=1)

    def validate(self) -> None:
        _common_validate(self)
        if self.advantage_estimator == "reinforce_pp":
            raise UsageError("advantage_estimator reinforce_pp is not in TRL; train it with the EasyR1 recipe "
                             "(`robotr1-data export-qa QA --format easyr1`, docs/training.md), or use grpo / rloo")
        _positive(self, "temperature", "GRPO samples its rollouts")
        if not (0.0 < self.top_p <= 1.0):
            raise UsageError(f"top_p must be in (0, 1], got {self.top_p}")
        if int(self.top_k) < 0:
            raise UsageError(f"top_k must be >= 0 (0: off), got {self.top_k}")
        if self.global_batch_size > self.rollout_batch_size:
            raise UsageError(f"global_batch_size {self.global_batch_size} > rollout_batch_size "
                             f"{self.rollout_batch_size}: an update cannot use more prompts than a rollout makes")
        for name in ("kl_coef", "clip_ratio", "format_weight", "accuracy_weight"):
            _finite_nonneg(self, name)
        if self.clip_ratio_high is not None:
            _finite_nonneg(self, "clip_ratio_high")


@dataclass
class SFTConfig(CommonConfig):
    learning_rate: float = opt(1e-5, "AdamW learning rate", min=0)
    epochs: int = opt(3, "passes over the questions (use --max-steps to stop earlier)", min=1)
    target: str = opt("direct", "which answer the model imitates: direct (an empty <think>, then the "
                      "answer), answer (the answer tag alone: no format reward) or cot (chain of "
                      "thought)", choices=("direct", "answer", "cot"))
    global_batch_size: int = opt(32, "sequences per optimiser update", min=1)
    max_response_length: int = opt(2048, "longest target in tokens", min=1)

    def validate(self) -> None:
        _common_validate(self)


def _choice(name, value, choices):
    if value not in choices:
        raise UsageError(f"{name} '{value}' is not one of {', '.join(choices)}{did_you_mean(str(value), choices)}")


def _finite_nonneg(cfg, name):
    import math

    v = getattr(cfg, name)
    if not math.isfinite(v) or v < 0:
        raise UsageError(f"{name} must be a finite number >= 0, got {v}")


def _positive(cfg, name, why=""):
    import math

    v = getattr(cfg, name)
    if not math.isfinite(v) or v <= 0:
        raise UsageError(f"{name} must be a finite number > 0, got {v}" + (f" ({why})" if why else ""))


def _common_validate(cfg) -> None:
    import math

    check_bounds(cfg)  # the fields' min/max and choices (flags checked them already; Python callers too)
    if cfg.max_steps == 0:
        raise UsageError("max_steps must be >= 1, or -1 for all epochs; got 0")
    for name in ("learning_rate", "weight_decay", "max_grad_norm", "adam_eps"):
        _finite_nonneg(cfg, name)
    if not (math.isfinite(cfg.lr_warmup_ratio) and 0 <= cfg.lr_warmup_ratio <= 1):
        raise UsageError(f"lr_warmup_ratio must be in [0, 1], got {cfg.lr_warmup_ratio}")
    for r in report_targets(cfg.report_to):
        _choice("report_to", r, ("tensorboard", "wandb", "none"))


def report_targets(value: str) -> list:
    """``"tensorboard,wandb"`` -> ``["tensorboard", "wandb"]``; ``"none"`` -> ``[]``."""
    out = [v.strip() for v in str(value).split(",") if v.strip()]
    for v in out:
        _choice("report_to", v, ("tensorboard", "wandb", "none"))
    return [v for v in out if v != "none"]


# ----------------------------------------------------------------------------------------------
# loading and overriding (the shared generator robotr1_data.config does YAML, --set and types)


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def build_config(cls, yaml_path: Optional[str] = None, section: str = "grpo", overrides: Optional[dict] = None):
    """Defaults < YAML (its ``section``, or flat keys) < ``overrides``; validated ``cls``.

    ``overrides`` values may be text as typed after ``--set key=`` or typed values."""
    from robotr1_data import config as C

    values: dict = {}
    if yaml_path:
        values.update(C.read_yaml(cls, yaml_path, section, SECTIONS))
    hints = C._hints(cls)
    for k, v in (overrides or {}).items():
        if k not in field_names(cls):
            raise UsageError(f"unknown config key '{k}'{did_you_mean(k, field_names(cls))} "
                             f"({cls.__name__} keys: {', '.join(field_names(cls))})")
        values[k] = C.from_text(v, hints[k], k) if isinstance(v, str) else v
    return C.build(cls, values, source=yaml_path or "",
                   from_file=set(values) - set(overrides or {}), from_set=set(overrides or {}))


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def dump_yaml(cfg) -> str:
    import yaml

    return yaml.safe_dump({type(cfg).__name__: to_dict(cfg)}, sort_keys=False)


__all__ = ["GRPOConfig", "SFTConfig", "build_config", "dump_yaml", "to_dict"]
