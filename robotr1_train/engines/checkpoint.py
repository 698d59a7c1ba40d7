"""Finding and loading a checkpoint to generate with (run directory, model directory or LoRA adapter)."""

from __future__ import annotations

import json
import os
from typing import Optional

from robotr1_data.errors import UsageError


def resolve_checkpoint(run_dir: str) -> str:
    """The directory holding the weights: ``RUN_DIR/final`` when there, else ``RUN_DIR`` itself."""
    if not os.path.isdir(run_dir):
        raise UsageError(f"model/run directory '{run_dir}' does not exist; pass a run directory written by "
                         "`robotr1-train grpo|sft --out RUN_DIR` or a save_pretrained model directory")
    for cand in (os.path.join(run_dir, "final"), run_dir):
        if any(os.path.isfile(os.path.join(cand, f)) for f in ("config.json", "adapter_config.json")):
            return cand
    raise UsageError(f"'{run_dir}' holds no model: expected config.json or adapter_config.json there or in "
                     f"'{run_dir}/final' (is training finished? intermediate checkpoints keep only the "
                     "optimiser state)")


def adapter_config(path: str) -> Optional[dict]:
    """The LoRA adapter's config when ``path`` is an adapter directory (no full model there), else None."""
    adapter = os.path.join(path, "adapter_config.json")
    if not os.path.isfile(adapter) or os.path.isfile(os.path.join(path, "config.json")):
        return None
    with open(adapter) as f:
        cfg = json.load(f)
    if not cfg.get("base_model_name_or_path"):
        raise UsageError(f"{adapter} names no base_model_name_or_path; cannot load the LoRA adapter")
    return cfg


def load_processor_for(path: str):
    """The processor saved with the checkpoint (an adapter directory may lack one: then its base's)."""
    from robotr1_train.models import load_processor

    try:
        processor = load_processor(path)
    except UsageError:
        cfg = adapter_config(path)
        if cfg is None:
            raise
        processor = load_processor(cfg["base_model_name_or_path"])
    processor.tokenizer.padding_side = "left"
    if processor.tokenizer.pad_token_id is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    return processor


def load_checkpoint(run_dir: str, device: Optional[str] = None, dtype: str = "auto"):
    """(model in eval mode, processor) for a run directory, model directory or LoRA adapter."""
    import torch

    from robotr1_train.models import load_model_and_processor

    path = resolve_checkpoint(run_dir)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    adapter = adapter_config(path)
    if adapter is not None:
        lp = load_model_and_processor(adapter["base_model_name_or_path"], dtype=dtype, device=device,
                                      gradient_checkpointing=False)
        from peft import PeftModel

        model = PeftModel.from_pretrained(lp.model, path).to(device)
        try:
            processor = load_processor_for(path)
        except UsageError:
            processor = lp.processor
        processor.tokenizer.padding_side = "left"
        if processor.tokenizer.pad_token_id is None:
            processor.tokenizer.pad_token = processor.tokenizer.eos_token
    else:
        lp = load_model_and_processor(path, dtype=dtype, device=device, gradient_checkpointing=False)
        model, processor = lp.model, lp.processor
    model.eval()
    return model, processor
