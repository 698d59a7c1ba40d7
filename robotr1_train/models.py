"""Loading the policy: a vision-language model and its processor, optionally with LoRA.

``load_model_and_processor(path_or_id, ...)`` loads with transformers from a local directory or a
hub id. Qwen2.5-VL is the reference family (``Qwen2_5_VLForConditionalGeneration``); any model that
``AutoModelForImageTextToText`` knows also loads. A path or id whose config has no vision tower raises
``UsageError`` with the fix.

Without torchvision (it must not be installed beside the pinned CPU torch, see docs/training.md),
``AutoProcessor`` cannot build Qwen's video processor; we then assemble the processor from its
tokenizer and the PIL image processor with ``video_processor=None`` (images only, which is all the
Robot-R1 questions use).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from robotr1_data.errors import UsageError

# LoRA targets: the language model's attention and MLP projections (the vision tower stays frozen).
DEFAULT_LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$"


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))


def _check_source(path_or_id: str) -> None:
    if os.path.isdir(path_or_id):
        if not os.path.isfile(os.path.join(path_or_id, "config.json")):
            raise UsageError(
                f"model directory '{path_or_id}' has no config.json; pass a directory written by "
                "save_pretrained, a hub id such as Qwen/Qwen2.5-VL-7B-Instruct, or build a tiny test "
                "model with `robotr1-train make-tiny-model --out DIR`"
            )
        return
    if os.path.exists(path_or_id):
        raise UsageError(f"model path '{path_or_id}' is a file; pass the model's directory or a hub id")
    if not _looks_like_hub_id(path_or_id):
        raise UsageError(
            f"model '{path_or_id}' is neither a directory nor a hub id (owner/name); "
            "e.g. --model Qwen/Qwen2.5-VL-7B-Instruct or a local save_pretrained directory"
        )


def load_config(path_or_id: str):
    """The model's config; ``UsageError`` if missing or not a vision-language model."""
    _check_source(path_or_id)
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(path_or_id)
    except Exception as e:  # noqa: BLE001 - every loader failure becomes one clear line
        raise UsageError(f"cannot load the config of model '{path_or_id}': {str(e).splitlines()[0]}") from e
    if getattr(config, "vision_config", None) is None:
        raise UsageError(
            f"model '{path_or_id}' (model_type '{getattr(config, 'model_type', '?')}') is not a "
            "vision-language model: its config has no vision_config. Use a Qwen2.5-VL checkpoint, "
            "e.g. Qwen/Qwen2.5-VL-7B-Instruct"
        )
    return config


def make_processor(tokenizer, image_processor, chat_template: str | None = None):
    """A ``Qwen2_5_VLProcessor`` that accepts ``video_processor=None`` (no torchvision needed)."""
    from transformers import Qwen2_5_VLProcessor

    class _ImagesOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
        def check_argument_for_proper_class(self, argument_name, argument):
            if argument is None and argument_name == "video_processor":
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

        def save_pretrained(self, save_directory, *args, **kwargs):
            # transformers' version walks every sub-processor, and there is no video processor here
            # (the Trainer calls this for each checkpoint).
            save_processor(self, save_directory)

    if chat_template is None:
        chat_template = getattr(tokenizer, "chat_template", None)
    return _ImagesOnlyQwen2_5_VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=None, chat_template=chat_template
    )


def save_processor(processor, out_dir) -> None:
    """Save tokenizer, image processor and chat template so ``load_processor`` reads them back."""
    os.makedirs(out_dir, exist_ok=True)
    processor.tokenizer.save_pretrained(out_dir)
    processor.image_processor.save_pretrained(out_dir)
    template = getattr(processor, "chat_template", None) or getattr(processor.tokenizer, "chat_template", None)
    if template:
        with open(os.path.join(out_dir, "chat_template.jinja"), "w") as f:
            f.write(template)


def load_processor(path_or_id: str):
    """The model's processor; falls back to an images-only Qwen2.5-VL processor without torchvision."""
    from transformers import AutoProcessor, AutoTokenizer

    try:
        import torchvision  # noqa: F401

        has_tv = True
    except Exception:  # noqa: BLE001
        has_tv = False
    if has_tv:
        try:
            return AutoProcessor.from_pretrained(path_or_id)
        except Exception:  # noqa: BLE001 - fall through to the images-only processor
            pass
    try:
        tokenizer = AutoTokenizer.from_pretrained(path_or_id)
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"cannot load the tokenizer of model '{path_or_id}': {str(e).splitlines()[0]}") from e
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    try:
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(path_or_id)
    except Exception as e:  # noqa: BLE001
        raise UsageError(
            f"cannot load the image processor of model '{path_or_id}': {str(e).splitlines()[0]}"
        ) from e
    template = None
    if os.path.isdir(path_or_id):
        p = os.path.join(path_or_id, "chat_template.jinja")
        if os.path.isfile(p):
            with open(p) as f:
                template = f.read()
    processor = make_processor(tokenizer, image_processor, template)
    return processor


@dataclass
class LoadedPolicy:
    model: Any  # the trainable module (a PeftModel under LoRA)
    processor: Any
    lora: bool
    config: Any


def load_model_and_processor(
    path_or_id: str,
    *,
    lora: bool = False,
    lora_r: int = 16,
    lora_alpha: int = 32,
    lora_dropout: float = 0.0,
    lora_targets: str = DEFAULT_LORA_TARGETS,
    dtype: str = "auto",
    gradient_checkpointing: bool | None = None,
    device: str | None = None,
    attn_implementation: str | None = None,
) -> LoadedPolicy:
    """Load a VLM + processor; apply LoRA; bf16 and gradient checkpointing on GPU by default.

    ``dtype``: "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp16" or "fp32".
    ``gradient_checkpointing``: None means on for CUDA, off on CPU.
    """
    import torch

    config = load_config(path_or_id)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    cuda = (device or "").startswith("cuda") or (device is None and torch.cuda.is_available())
    torch_dtype = {
        "auto": torch.bfloat16 if cuda else torch.float32,
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
        "fp32": torch.float32,
    }.get(dtype)
    if torch_dtype is None:
        raise UsageError(f"unknown dtype '{dtype}'; use auto, bf16, fp16 or fp32")
    kwargs: dict = {"dtype": torch_dtype}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    model = None
    errors = []
    from transformers import AutoModelForImageTextToText

    loaders = []
    if getattr(config, "model_type", "") == "qwen2_5_vl":
        from transformers import Qwen2_5_VLForConditionalGeneration

        loaders.append(Qwen2_5_VLForConditionalGeneration)
    loaders.append(AutoModelForImageTextToText)
    for cls in loaders:
        try:
            model = cls.from_pretrained(path_or_id, **kwargs)
            break
        except Exception as e:  # noqa: BLE001
            errors.append(f"{cls.__name__}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    if model is None:
        raise UsageError(f"cannot load model '{path_or_id}' as a vision-language model ({'; '.join(errors)})")
    processor = load_processor(path_or_id)
    if getattr(processor.tokenizer, "pad_token_id", None) is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    processor.tokenizer.padding_side = "left"
    if device:
        model.to(device)
    if gradient_checkpointing is None:
        gradient_checkpointing = cuda
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
        if lora:
            model.enable_input_require_grads()
    if lora:
        from peft import LoraConfig, get_peft_model

        lcfg = LoraConfig(
            r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=lora_targets,
            bias="none", task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lcfg)
    return LoadedPolicy(model=model, processor=processor, lora=lora, config=config)


def base_model(model):
    """The ``*ForConditionalGeneration`` module under any PEFT / DDP wrapping."""
    m = model
    for _ in range(4):
        if hasattr(m, "module") and not hasattr(m, "lm_head"):  # DDP / FSDP wrapper
            m = m.module
        elif hasattr(m, "get_base_model"):
            m = m.get_base_model()
        else:
            break
    return m


def save_policy(model, processor, out_dir, accelerator=None) -> None:
    """``save_pretrained`` the policy (adapter only under LoRA) and its processor."""
    os.makedirs(out_dir, exist_ok=True)
    m = accelerator.unwrap_model(model) if accelerator is not None else model
    if accelerator is not None:
        state = accelerator.get_state_dict(model)
        if accelerator.is_main_process:
            m.save_pretrained(out_dir, state_dict=state, safe_serialization=True)
            save_processor(processor, out_dir)
        return
    m.save_pretrained(out_dir, safe_serialization=True)
    save_processor(processor, out_dir)


def vision_token_ids(model, processor=None) -> list[int]:
    """Image/video placeholder and vision start/end ids: a completion must never contain them
    (the forward pass would look for image features that do not exist)."""
    cfg = getattr(base_model(model), "config", None)
    ids = set()
    for name in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"):
        v = getattr(cfg, name, None)
        if isinstance(v, int):
            ids.add(v)
    return sorted(ids)
