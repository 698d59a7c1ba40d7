"""``hf``: batched ``model.generate`` from transformers (CPU or GPU, any checkpoint we write).

Left-padded static batches, the processor's chat template for the text (``render_prompt``), the
vision placeholder tokens suppressed in completions (a completion holding one would make the
next forward pass look for image features that do not exist).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from robotr1_train.engines.base import Request, render_prompt
from robotr1_train.models import vision_token_ids


def _as_array(image) -> np.ndarray:
    arr = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else np.asarray(image)
    return np.ascontiguousarray(arr, dtype=np.uint8)


class HFEngine:
    name = "hf"

    def __init__(self, model, processor):
        self.model, self.processor = model, processor
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"
        self.suppress = vision_token_ids(model) or None
        eos = {self.tokenizer.eos_token_id}
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        if isinstance(gen_eos, int):
            eos.add(gen_eos)
        elif isinstance(gen_eos, (list, tuple)):
            eos.update(gen_eos)
        self.eos_ids = sorted(int(e) for e in eos if e is not None)

    @classmethod
    def from_checkpoint(cls, model_path: str, device: Optional[str] = None, dtype: str = "auto") -> "HFEngine":
        from robotr1_train.engines.checkpoint import load_checkpoint

        model, processor = load_checkpoint(model_path, device=device, dtype=dtype)
        return cls(model, processor)

    def prompt_text(self, messages: List[dict]) -> str:
        return render_prompt(self.processor, messages)

    def encode(self, requests: Sequence[Request]) -> dict:
        """The left-padded model inputs for ``requests`` (tensors on the model's device)."""
        import torch

        texts = [self.prompt_text(m) for m, _ in requests]
        flat = [_as_array(im) for _, ims in requests for im in ims]
        batch = dict(self.processor(text=texts, images=flat or None, padding=True, return_tensors="pt"))
        if "mm_token_type_ids" not in batch:
            image_id = getattr(self.processor, "image_token_id", None)
            batch["mm_token_type_ids"] = (batch["input_ids"] == image_id).to(torch.int32)
        param = next(self.model.parameters())
        out = {}
        for k, v in batch.items():
            if isinstance(v, torch.Tensor):
                v = v.to(param.device)
                if k == "pixel_values":
                    v = v.to(param.dtype)
            out[k] = v
        return out

    def generate(self, requests: Sequence[Request], max_new_tokens: int, temperature: float = 0.0,
                 seed: int = 0) -> List[str]:
        import torch

        if not requests:
            return []
        batch = self.encode(requests)
        prompt_len = batch["input_ids"].shape[1]
        kwargs = dict(max_new_tokens=int(max_new_tokens), pad_token_id=self.tokenizer.pad_token_id,
                      eos_token_id=self.eos_ids, use_cache=True, suppress_tokens=self.suppress)
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=float(temperature), top_p=1.0, top_k=0)
            torch.manual_seed(int(seed))
        else:
            kwargs.update(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(**batch, **kwargs)
        seqs = out if isinstance(out, torch.Tensor) else out.sequences
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in seqs[:, prompt_len:].cpu()]
