"""One configuration object per command: ``GRPOConfig`` and ``SFTConfig``.

Field names are ours (stable for scripts and ``--set``); ``robotr1_train.trl_config`` maps them onto
TRL's ``GRPOConfig`` / ``RLOOConfig`` / ``SFTConfig`` (docs/training.md has the table).

Defaults reproduce the Robot-R1 paper (arXiv 2506.00070, run with EasyR1): G = 5 samples per prompt at
temperature 1.0, lr 1e-6, weight decay 1e-2, KL to the reference with the low-variance (k3) estimator
at coefficient 1e-2, ratio clip 0.2, prompt and response lengths 2048, rollout batch 512 prompts,
update batch 128 prompts, 5 epochs. SFT baselines use lr 1e-5.

Precedence: dataclass defaults < YAML file (``--config``; a ``grpo:`` / ``sft:`` section or flat keys)
< ``--set key=value`` / per-field flags. Unknown keys raise ``UsageError`` with a suggestion.
The resolved config is written to ``RUN_DIR/config.yaml``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Optional

from robotr1_data.errors import UsageError, did_you_mean

ADVANTAGE_ESTIMATORS = ("grpo", "rloo", "reinforce_pp")
KL_ESTIMATORS = ("low_var_kl",)
LOSS_AGG_MODES = ("token_mean", "seq_mean_token_mean")
VLLM_MODES = ("colocate", "server")


@dataclass
class CommonConfig:
    seed: int = 1
    epochs: int = 5
    learning_rate: float = 1e-6
    weight_decay: float = 1e-2
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    max_grad_norm: float = 1.0
    lr_warmup_ratio: float = 0.0
    micro_batch_size: int = 4  # sequences per forward/backward per device
    max_prompt_length: int = 2048
    max_steps: int = -1  # stop after this many optimiser updates (-1: run all epochs)
    save_steps: int = 50  # checkpoint every N optimiser updates (0: only at the end)
    save_total_limit: int = 2  # keep this many step checkpoints (0: all)
    logging_steps: int = 1
    report_to: str = "tensorboard"  # tensorboard | wandb | tensorboard,wandb | none
    question_types: Optional[list] = None  # e.g. [waypoint, movement]; None: all
    max_samples: int = -1  # use only the first N questions (-1: all)
    # model
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    dtype: str = "auto"  # auto: bf16 on GPU, fp32 on CPU; bf16 | fp16 | fp32
    mixed_precision: str = "auto"  # auto: bf16 autocast on GPU, none on CPU; no | bf16 | fp16
    gradient_checkpointing: Optional[bool] = None  # None: on for GPU, off on CPU
    progress_bar: bool = True


@dataclass
class GRPOConfig(CommonConfig):
    num_generations: int = 5  # G: completions sampled per prompt
    temperature: float = 1.0
    top_p: float = 1.0
    max_response_length: int = 2048
    rollout_batch_size: int = 512  # prompts per rollout (one generation phase)
    global_batch_size: int = 128  # prompts per optimiser update (rollouts split into mini-batches)
    num_iterations: int = 1  # mu: passes over the same rollouts
    advantage_estimator: str = "grpo"  # grpo (GRPOTrainer) | rloo (RLOOTrainer) | reinforce_pp (EasyR1 only)
    std_normalize: bool = True  # GRPO: divide by the group std
    kl_coef: float = 1e-2
    kl_estimator: str = "low_var_kl"  # TRL's GRPO KL is Schulman's k3 (= EasyR1's low_var_kl)
    clip_ratio: float = 0.2
    clip_ratio_high: Optional[float] = None  # None: same as clip_ratio
    loss_agg_mode: str = "token_mean"  # token_mean (TRL loss_type dapo) | seq_mean_token_mean (grpo)
    format_weight: float = 1.0  # R = format_weight * format + accuracy_weight * accuracy
    accuracy_weight: float = 1.0
    log_completions: bool = True  # a sample of completions every logging step (completions/*.parquet)
    num_completions_to_print: int = 2
    use_vllm: bool = False  # generate with vLLM (needs CUDA and the vllm extra)
    vllm_mode: str = "colocate"  # colocate: vLLM inside each training process | server: `trl vllm-serve`
    vllm_server_base_url: Optional[str] = None  # server mode, e.g. http://10.0.0.2:8000
    vllm_gpu_memory_utilization: float = 0.3  # colocate: the share of GPU memory vLLM may take

    def validate(self) -> None:
        _common_validate(self)
        _choice("advantage_estimator", self.advantage_estimator, ADVANTAGE_ESTIMATORS)
        _choice("kl_estimator", self.kl_estimator, KL_ESTIMATORS)
        _choice("loss_agg_mode", self.loss_agg_mode, LOSS_AGG_MODES)
        _choice("vllm_mode", self.vllm_mode, VLLM_MODES)
        if self.advantage_estimator == "reinforce_pp":
            raise UsageError("advantage_estimator reinforce_pp is not in TRL; train it with the EasyR1 recipe "
                             "(`robotr1-data export-qa QA --format easyr1`, docs/training.md), or use grpo / rloo")
        if self.num_generations < 2:
            raise UsageError("num_generations must be >= 2 (advantages compare the samples of one prompt)")
        _positive(self, "temperature", "GRPO samples its rollouts")
        if not (0.0 < self.top_p <= 1.0):
            raise UsageError(f"top_p must be in (0, 1], got {self.top_p}")
        for name in ("rollout_batch_size", "global_batch_size", "num_iterations", "max_response_length"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be >= 1")
        if self.global_batch_size > self.rollout_batch_size:
            raise UsageError(f"global_batch_size {self.global_batch_size} > rollout_batch_size "
                             f"{self.rollout_batch_size}: an update cannot use more prompts than a rollout makes")
        for name in ("kl_coef", "clip_ratio", "format_weight", "accuracy_weight"):
            _finite_nonneg(self, name)
        if self.clip_ratio_high is not None:
            _finite_nonneg(self, "clip_ratio_high")


@dataclass
class SFTConfig(CommonConfig):
    learning_rate: float = 1e-5
    epochs: int = 3
    target: str = "direct"  # direct | cot: which answer the model imitates
    global_batch_size: int = 32  # sequences per optimiser update
    max_response_length: int = 2048

    def validate(self) -> None:
        _common_validate(self)
        _choice("target", self.target, ("direct", "cot"))
        if self.global_batch_size < 1:
            raise UsageError("global_batch_size must be >= 1")


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

    if cfg.micro_batch_size < 1:
        raise UsageError("micro_batch_size must be >= 1")
    if cfg.epochs < 1:
        raise UsageError(f"epochs must be >= 1, got {cfg.epochs} (use max_steps to stop earlier)")
    if cfg.max_steps == 0 or cfg.max_steps < -1:
        raise UsageError(f"max_steps must be >= 1, or -1 for all epochs; got {cfg.max_steps}")
    if cfg.save_steps < 0 or cfg.logging_steps < 1 or cfg.save_total_limit < 0:
        raise UsageError("save_steps and save_total_limit must be >= 0 and logging_steps >= 1")
    if cfg.max_prompt_length < 1:
        raise UsageError("max_prompt_length must be >= 1")
    _finite_nonneg(cfg, "learning_rate")
    _finite_nonneg(cfg, "weight_decay")
    _finite_nonneg(cfg, "max_grad_norm")
    if not (math.isfinite(cfg.lr_warmup_ratio) and 0 <= cfg.lr_warmup_ratio <= 1):
        raise UsageError(f"lr_warmup_ratio must be in [0, 1], got {cfg.lr_warmup_ratio}")
    if cfg.lora and cfg.lora_r < 1:
        raise UsageError("lora_r must be >= 1")
    _choice("dtype", cfg.dtype, ("auto", "bf16", "fp16", "fp32"))
    _choice("mixed_precision", cfg.mixed_precision, ("auto", "no", "bf16", "fp16"))
    for r in report_targets(cfg.report_to):
        _choice("report_to", r, ("tensorboard", "wandb", "none"))


def report_targets(value: str) -> list:
    """``"tensorboard,wandb"`` -> ``["tensorboard", "wandb"]``; ``"none"`` -> ``[]``."""
    out = [v.strip() for v in str(value).split(",") if v.strip()]
    for v in out:
        _choice("report_to", v, ("tensorboard", "wandb", "none"))
    return [v for v in out if v != "none"]


# ----------------------------------------------------------------------------------------------
# loading and overriding


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _field_type(cls, name):
    hints = typing.get_type_hints(cls)
    t = hints[name]
    args = typing.get_args(t)
    if typing.get_origin(t) is typing.Union and type(None) in args:
        t = next(a for a in args if a is not type(None))
    return t


def coerce(cls, name: str, value: Any) -> Any:
    """Convert ``value`` (a YAML value or a CLI string) to field ``name``'s type, or raise UsageError."""
    import yaml

    if name not in field_names(cls):
        raise UsageError(
            f"unknown config key '{name}'{did_you_mean(name, field_names(cls))} "
            f"({cls.__name__} keys: {', '.join(field_names(cls))})"
        )
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            pass
    if value is None:
        return None
    t = _field_type(cls, name)
    try:
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                return value.lower() in ("true", "yes", "1", "on")
            raise ValueError
        if t is int:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if t is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if t is str:
            return str(value)
        if t is list or typing.get_origin(t) is list:
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return list(value)
    except (TypeError, ValueError):
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(t, "a list")
        raise UsageError(f"config key '{name}' needs {kind}, got {value!r}") from None
    return value


def load_yaml(path: str, section: str) -> dict:
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise UsageError(f"config file '{path}' not found (the paper's settings are in configs/robot_r1.yaml)")
    except yaml.YAMLError as e:
        raise UsageError(f"config file '{path}' is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise UsageError(f"config file '{path}' must hold a mapping of keys to values")
    if section in data and isinstance(data[section], dict):
        return dict(data[section])
    sections = {"grpo", "sft", "eval"}
    if any(k in sections for k in data):
        return {}  # the file has sections, none for this command
    return data


def build_config(cls, yaml_path: Optional[str] = None, section: str = "grpo", overrides: Optional[dict] = None):
    """Defaults < YAML < overrides; validates and returns a ``cls`` instance."""
    values: dict = {}
    if yaml_path:
        for k, v in load_yaml(yaml_path, section).items():
            values[k] = coerce(cls, k, v)
    for k, v in (overrides or {}).items():
        values[k] = coerce(cls, k, v)
    cfg = cls(**values)
    cfg.validate()
    return cfg


def parse_set(items) -> dict:
    """``["lr=1e-5", "lora=true"]`` -> dict; raises UsageError on a malformed item."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--set needs key=value, got '{item}'")
        k, v = item.split("=", 1)
        out[k.strip().replace("-", "_")] = v
    return out


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def dump_yaml(cfg) -> str:
    import yaml

    return yaml.safe_dump({type(cfg).__name__: to_dict(cfg)}, sort_keys=False)


__all__ = ["GRPOConfig", "SFTConfig", "build_config", "parse_set", "coerce", "dump_yaml", "to_dict"]
