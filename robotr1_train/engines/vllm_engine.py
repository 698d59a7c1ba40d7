"""``vllm``: ``vllm.LLM`` offline generation (CUDA only), fed the same prompt strings as ``hf``.

The prompt text comes from the checkpoint's own processor (``render_prompt``), not from vLLM's
chat handling, so both engines give the model byte-identical prompts; vLLM expands the image
placeholder from ``multi_modal_data``. A LoRA adapter directory runs on its base model with the
adapter as a ``LoRARequest``. Only imported by ``make_engine`` once vLLM and CUDA are known present.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from robotr1_train.engines.base import Request, render_prompt

_DTYPES = {"auto": "auto", "bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def _as_pil(image):
    from PIL import Image

    if hasattr(image, "convert"):
        return image.convert("RGB")
    return Image.fromarray(np.ascontiguousarray(np.asarray(image), dtype=np.uint8)).convert("RGB")


class VLLMEngine:
    name = "vllm"

    def __init__(self, model_path: str, dtype: str = "auto", gpu_memory_utilization: float = 0.85,
                 tensor_parallel_size: int = 1, max_model_len: Optional[int] = 8192, max_images: int = 4):
        import vllm

        from robotr1_data.errors import UsageError
        from robotr1_train.engines.checkpoint import adapter_config, load_processor_for, resolve_checkpoint

        if dtype not in _DTYPES:
            raise UsageError(f"unknown dtype '{dtype}'; use auto, bf16, fp16 or fp32")
        path = resolve_checkpoint(model_path)
        self.processor = load_processor_for(path)
        adapter = adapter_config(path)
        kwargs = dict(dtype=_DTYPES[dtype], gpu_memory_utilization=float(gpu_memory_utilization),
                      tensor_parallel_size=int(tensor_parallel_size), limit_mm_per_prompt={"image": int(max_images)})
        if max_model_len:
            kwargs["max_model_len"] = int(max_model_len)
        self.lora_request = None
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            kwargs.update(enable_lora=True, max_lora_rank=int(adapter.get("r", 16)))
            self.lora_request = LoRARequest("robotr1", 1, path)
            path = adapter["base_model_name_or_path"]
        self._vllm = vllm
        self.llm = vllm.LLM(model=path, **kwargs)

    def prompt_text(self, messages: List[dict]) -> str:
        return render_prompt(self.processor, messages)

    def inputs(self, requests: Sequence[Request]) -> list:
        """vLLM prompts: the rendered text and its images (one image as itself, several as a list)."""
        out = []
        for messages, images in requests:
            item = {"prompt": self.prompt_text(messages)}
            pil = [_as_pil(im) for im in images]
            if pil:
                item["multi_modal_data"] = {"image": pil[0] if len(pil) == 1 else pil}
            out.append(item)
        return out

    def generate(self, requests: Sequence[Request], max_new_tokens: int, temperature: float = 0.0,
                 seed: int = 0) -> List[str]:
        if not requests:
            return []
        params = self._vllm.SamplingParams(max_tokens=int(max_new_tokens), temperature=float(max(0.0, temperature)),
                                           top_p=1.0, seed=int(seed), skip_special_tokens=True)
        kwargs = {"use_tqdm": False}
        if self.lora_request is not None:
            kwargs["lora_request"] = self.lora_request
        outs = self.llm.generate(self.inputs(requests), params, **kwargs)
        return [o.outputs[0].text for o in outs]
