"""``robotr1-train grpo`` / ``sft`` on TRL: QA store -> dataset, our config -> TRL config, run, save.

Everything that samples, scores log-probs, computes the loss and steps the optimiser is TRL's
(``GRPOTrainer``, ``RLOOTrainer``, ``SFTTrainer``); what is ours is the data (``trl_data``), the
reward functions (``trl_rewards``), the config mapping (``trl_config``) and the run directory:

    RUN_DIR/config.yaml        our resolved config, the run's inputs, the TRL fields they became
    RUN_DIR/metrics.jsonl      one JSON object per logging step (TRL's log rows)
    RUN_DIR/checkpoint-N/      TRL checkpoints, sealed (see runtime.py); --resume uses the newest complete one
    RUN_DIR/completions/       sampled completions with their rewards (GRPO, log_completions)
    RUN_DIR/tb/                TensorBoard events (report_to tensorboard)
    RUN_DIR/images/            the questions' images as PNG (the dataset's ``images`` column)
    RUN_DIR/final/             the trained model (or LoRA adapter) and its processor: what eval-qa
                               and ``eval-sim --policy vlm:RUN_DIR`` load

The reference model for the KL term: under LoRA the adapter-disabled base (TRL, no copy); under full
fine-tuning TRL builds it from the model's path, sharded by DeepSpeed ZeRO-3 or FSDP when those
configs are used, kept in bf16 on GPU, and not built at all when ``kl_coef`` is 0.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Callable, Optional

from robotr1_data.errors import UsageError

# TRL reads ``model.is_gradient_checkpointing`` around every generation and transformers 5 flags the
# name as deprecated, so a GRPO log carried the same two-line FutureWarning once per step (250 times
# in a 250-step run). It is TRL's call to change, not the user's: silenced by its exact text only.
_TRL_DEPRECATION = r"`is_gradient_checkpointing` is deprecated"


def quiet_trl_deprecations() -> None:
    import warnings

    warnings.filterwarnings("ignore", message=_TRL_DEPRECATION, category=FutureWarning)


def check_vllm(cfg) -> None:
    """``use_vllm`` needs CUDA and the vllm package; say so in one line before anything loads."""
    if not getattr(cfg, "use_vllm", False):
        return
    import torch

    if not torch.cuda.is_available():
        raise UsageError("--use-vllm needs a CUDA GPU and none is visible; drop --use-vllm to generate with "
                         "transformers, or run on a GPU machine")
    if importlib.util.find_spec("vllm") is None:
        raise UsageError("--use-vllm needs the vllm package: pip install 'robotr1[vllm]' (or drop --use-vllm)")


def _world_size() -> int:
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def _is_main() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")


def _cuda(cfg) -> bool:
    import torch

    return torch.cuda.is_available()


def _load(model_path: str, cfg, cuda: bool):
    from robotr1_train.models import DEFAULT_LORA_TARGETS, load_model_and_processor

    dtype = cfg.dtype
    if dtype == "auto":  # fp32 master weights for full fine-tuning; a bf16 frozen base under LoRA
        dtype = "bf16" if (cuda and cfg.lora) else "fp32"
    lp = load_model_and_processor(model_path, dtype=dtype, device="cpu", gradient_checkpointing=False)
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                 target_modules=DEFAULT_LORA_TARGETS, bias="none", task_type="CAUSAL_LM")
    return lp.model, lp.processor, peft_config


def _resume_point(out_dir: str, resume: bool) -> Optional[str]:
    from robotr1_train.runtime import list_checkpoints, newest_complete_checkpoint

    if not resume:
        return None
    ckpt = newest_complete_checkpoint(out_dir)
    if ckpt is None:
        if list_checkpoints(out_dir):
            raise UsageError(f"--resume: no complete checkpoint in '{out_dir}' (see the warnings above); "
                             "start again without --resume in a new --out")
        raise UsageError(f"--resume: no checkpoint in '{out_dir}'; start without --resume")
    return ckpt


def _restore_weights(trainer, ckpt: Optional[str]) -> None:
    """Put a full fine-tune's checkpoint weights into ``trainer.model`` before TRL resumes.

    transformers' Trainer restores weights on resume with a non-strict ``load_state_dict`` of the
    raw file, but ``save_pretrained`` writes Qwen2.5-VL under its original key names
    (``model.layers.*``, ``visual.*``) while the loaded model's are ``model.language_model.*`` and
    ``model.visual.*``: no key matched, nothing was loaded, and the run went on from the *base*
    weights with the checkpoint's optimizer state. ``from_pretrained`` applies the key mapping; the
    copy is strict, so a mismatch is an error rather than a silent restart. LoRA checkpoints hold
    only the adapter, which the Trainer restores through PEFT (tested). The GRPO reference is built
    from the model's original path, so it stays the base model."""
    if ckpt is None or not os.path.isfile(os.path.join(ckpt, "config.json")):
        return
    if getattr(trainer, "is_deepspeed_enabled", False) or getattr(trainer, "is_fsdp_enabled", False):
        return  # these resume from the engine's own sharded state, not from model.safetensors
    model = trainer.model
    saved = type(model).from_pretrained(ckpt, dtype=next(model.parameters()).dtype)
    model.load_state_dict(saved.state_dict(), strict=True)
    del saved
    trainer._load_from_checkpoint = lambda *a, **k: None  # done above; its own load matched no key


def _step_of(ckpt: Optional[str]) -> int:
    return int(os.path.basename(ckpt).split("-")[-1]) if ckpt else 0


def _save_final(trainer, processor, out_dir: str) -> str:
    from robotr1_train.models import save_processor

    final = os.path.join(out_dir, "final")
    trainer.save_model(final)
    if trainer.accelerator.is_main_process:
        save_processor(processor, final)
    return final


def _tensorboard_dir(out_dir: str, cfg) -> None:
    # transformers' TensorBoard callback writes to $TENSORBOARD_LOGGING_DIR, else ./runs in the cwd.
    if "tensorboard" in str(cfg.report_to):
        os.environ.setdefault("TENSORBOARD_LOGGING_DIR", os.path.join(out_dir, "tb"))


def build_grpo_trainer(cfg, model, processor, peft_config, records: list, qa_dir, out_dir: str, *,
                       image_loader: Optional[Callable] = None, rollout_func: Optional[Callable] = None,
                       resumed_step: int = 0, run_info: Optional[dict] = None, cuda: bool = False):
    """TRL's ``GRPOTrainer`` (``RLOOTrainer`` for rloo) for an already loaded model (bench/train_step.py
    passes a randomly initialised 7B here)."""
    from robotr1_train.models import vision_token_ids
    from robotr1_train.runtime import make_callbacks, write_run_config
    from robotr1_train.trl_config import grpo_args
    from robotr1_train.trl_data import check_prompt_lengths, qa_dataset
    from robotr1_train.trl_rewards import make_reward_funcs

    check_prompt_lengths(records, processor, cfg.max_prompt_length, qa_dir, image_loader)
    args = grpo_args(cfg, out_dir, n_prompts=len(records), world_size=_world_size(), cuda=cuda,
                     vision_token_ids=vision_token_ids(model))
    if cuda and not cfg.lora and cfg.kl_coef > 0:
        args.model_init_kwargs = {"dtype": "bfloat16"}  # the frozen reference: bf16, never an fp32 copy
    if _is_main():
        write_run_config(out_dir, cfg, dict(run_info or {}, questions=len(records)), args)
    dataset = qa_dataset(records, qa_dir, os.path.join(out_dir, "images"), image_loader=image_loader)
    funcs, weights = make_reward_funcs(cfg.format_weight, cfg.accuracy_weight)
    args.reward_weights = weights
    _tensorboard_dir(out_dir, cfg)
    if cfg.advantage_estimator == "rloo":
        from trl import RLOOTrainer as Trainer
    else:
        from trl import GRPOTrainer as Trainer
    if rollout_func is not None and cfg.advantage_estimator != "grpo":
        raise ValueError("rollout_func (a test hook) is only supported by TRL's GRPOTrainer")
    extra = {"rollout_func": rollout_func} if rollout_func is not None else {}
    return Trainer(model=model, reward_funcs=funcs, args=args, train_dataset=dataset, processing_class=processor,
                   peft_config=peft_config, callbacks=make_callbacks(out_dir, resumed_step), **extra)


def train_grpo(cfg, model_path: str, records: list, qa_dir, out_dir: str, *, resume: bool = False,
               image_loader: Optional[Callable] = None, rollout_func: Optional[Callable] = None,
               run_info: Optional[dict] = None):
    """GRPO (or RLOO) on ``records``; returns ``(trainer, final_dir)``."""
    check_vllm(cfg)
    quiet_trl_deprecations()
    ckpt = _resume_point(out_dir, resume)
    cuda = _cuda(cfg)
    model, processor, peft_config = _load(model_path, cfg, cuda)
    trainer = build_grpo_trainer(cfg, model, processor, peft_config, records, qa_dir, out_dir,
                                 image_loader=image_loader, rollout_func=rollout_func, resumed_step=_step_of(ckpt),
                                 run_info=run_info, cuda=cuda)
    if not cfg.lora:
        _restore_weights(trainer, ckpt)
    trainer.train(resume_from_checkpoint=ckpt)
    return trainer, _save_final(trainer, processor, out_dir)


def train_sft(cfg, model_path: str, records: list, qa_dir, out_dir: str, *, resume: bool = False,
              image_loader: Optional[Callable] = None, run_info: Optional[dict] = None):
    """SFT on the ``sft_<target>`` answers; returns ``(trainer, final_dir)``."""
    from trl import SFTTrainer

    from robotr1_train.runtime import make_callbacks, write_run_config
    from robotr1_train.trl_config import sft_args
    from robotr1_train.trl_data import check_prompt_lengths, qa_dataset

    quiet_trl_deprecations()
    ckpt = _resume_point(out_dir, resume)
    cuda = _cuda(cfg)
    # Check every record has its target before loading the model (one line, not a traceback mid-run).
    from robotr1_train.trl_data import target_text

    for r in records:
        target_text(r, cfg.target)
    model, processor, peft_config = _load(model_path, cfg, cuda)
    check_prompt_lengths(records, processor, cfg.max_prompt_length, qa_dir, image_loader)
    args = sft_args(cfg, out_dir, world_size=_world_size(), cuda=cuda)
    if _is_main():
        write_run_config(out_dir, cfg, dict(run_info or {}, questions=len(records)), args)
    dataset = qa_dataset(records, qa_dir, os.path.join(out_dir, "images"), target=cfg.target,
                         image_loader=image_loader)
    dataset = dataset.remove_columns(["record", "type"])
    _tensorboard_dir(out_dir, cfg)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor,
                         peft_config=peft_config, callbacks=make_callbacks(out_dir, _step_of(ckpt)))
    if not cfg.lora:
        _restore_weights(trainer, ckpt)
    trainer.train(resume_from_checkpoint=ckpt)
    return trainer, _save_final(trainer, processor, out_dir)


def last_log(trainer) -> dict:
    """The last training log row (loss, reward, ...), for the one-line summary."""
    for row in reversed(trainer.state.log_history):
        if "loss" in row or "reward" in row:
            return row
    return trainer.state.log_history[-1] if trainer.state.log_history else {}


__all__ = ["train_grpo", "train_sft", "check_vllm", "last_log"]
