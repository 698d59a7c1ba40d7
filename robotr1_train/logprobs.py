"""Completion log-probabilities from one training forward pass, vocabulary logits in chunks.

The decoder runs once over ``[left-padded prompt | right-padded completion]``; the hidden states that
predict completion tokens are then pushed through ``lm_head`` ``chunk_size`` tokens at a time, each
chunk's ``log_softmax`` reduced to the chosen token's log-prob. Under autograd each chunk is
recomputed in backward (activation checkpointing), so a ``[tokens, vocab]`` tensor never sits whole in
memory: peak extra memory is ``chunk_size x vocab`` floats.

``CompletionScorer`` wraps the policy as an ``nn.Module`` whose ``forward`` returns these log-probs, so
DDP/FSDP (via accelerate) see every trainable forward and synchronise gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from robotr1_train.models import base_model


def _chunk_logprobs(hidden: torch.Tensor, weight: torch.Tensor, bias, targets: torch.Tensor,
                    temperature: float, suppress=None) -> torch.Tensor:
    logits = F.linear(hidden, weight, bias).float()
    if temperature != 1.0:
        logits = logits / temperature
    if suppress is not None and suppress.numel():
        logits = logits.index_fill(-1, suppress, float("-inf"))
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


def chunked_token_logprobs(hidden: torch.Tensor, lm_head: nn.Module, targets: torch.Tensor,
                           temperature: float = 1.0, chunk_size: int = 1024, suppress_ids=None) -> torch.Tensor:
    """log p(targets) for ``hidden`` [..., H] and ``targets`` [...]; lm_head applied chunk by chunk.

    ``suppress_ids``: token ids the sampler never emits (``generate(suppress_tokens=...)``); they are
    removed from the softmax here too, so these log-probs are those of the sampling distribution.
    """
    suppress = None
    if suppress_ids is not None and len(suppress_ids):
        suppress = torch.as_tensor(list(suppress_ids), dtype=torch.long, device=hidden.device)
    shape = targets.shape
    h = hidden.reshape(-1, hidden.shape[-1])
    t = targets.reshape(-1)
    weight, bias = lm_head.weight, getattr(lm_head, "bias", None)
    chunk_size = max(1, int(chunk_size))
    use_ckpt = torch.is_grad_enabled() and (h.requires_grad or weight.requires_grad)
    outs = []
    for s in range(0, h.shape[0], chunk_size):
        hs, ts = h[s: s + chunk_size], t[s: s + chunk_size]
        if use_ckpt:
            outs.append(checkpoint(_chunk_logprobs, hs, weight, bias, ts, temperature, suppress,
                                   use_reentrant=False))
        else:
            outs.append(_chunk_logprobs(hs, weight, bias, ts, temperature, suppress))
    if not outs:
        return h.new_zeros(shape, dtype=torch.float32)
    return torch.cat(outs).reshape(shape)


MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw")


def completion_logprobs(model, batch: dict, temperature: float = 1.0, chunk_size: int = 1024,
                        suppress_ids=None) -> torch.Tensor:
    """[B, C] log-probs of ``batch['completion_ids']`` under ``model`` (a batch from ``collate_sequences``).

    Positions past a completion's end hold garbage; multiply by ``completion_mask``.
    """
    inner = base_model(model)
    kwargs = {k: batch[k] for k in MODEL_INPUT_KEYS if batch.get(k) is not None}
    out = inner.model(**kwargs, use_cache=False)
    hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
    P = int(batch["prompt_length"])
    C = batch["completion_ids"].shape[1]
    h = hidden[:, P - 1: P - 1 + C]
    return chunked_token_logprobs(h, inner.lm_head, batch["completion_ids"], temperature, chunk_size, suppress_ids)


class CompletionScorer(nn.Module):
    """``forward(batch) -> [B, C] log-probs``; the module accelerate wraps for DDP/FSDP."""

    def __init__(self, policy: nn.Module, temperature: float = 1.0, chunk_size: int = 1024, suppress_ids=()):
        super().__init__()
        self.policy = policy
        self.temperature = float(temperature)
        self.chunk_size = int(chunk_size)
        self.suppress_ids = tuple(int(i) for i in suppress_ids)

    def forward(self, **batch):
        return completion_logprobs(self.policy, batch, self.temperature, self.chunk_size, self.suppress_ids)


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


def move_batch(batch: dict, device, float_dtype=None) -> dict:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device)
            if k == "pixel_values" and float_dtype is not None:
                v = v.to(float_dtype)
        out[k] = v
    return out
