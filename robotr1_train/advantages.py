"""Advantages, the clipped policy objective and KL estimators (pure tensor functions).

Advantage estimators (outcome rewards, one scalar per completion; ``group`` = the G completions of
one prompt, consecutive in the batch):

- ``grpo``: (r - mean_group) / (std_group + eps)  (std over the group, unbiased like EasyR1/verl);
  ``std_normalize=False`` gives the Dr.GRPO-style r - mean_group.
- ``rloo``: r_i - mean_{j != i} r_j (leave-one-out baseline).
- ``reinforce_pp``: REINFORCE++ with outcome reward: r whitened over the whole batch
  (mean/std across every completion, not per group).

Every token of a completion gets its completion's advantage.
"""

from __future__ import annotations

import torch

EPS = 1e-6


def group_view(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    return rewards.reshape(-1, group_size)


def grpo_advantages(rewards: torch.Tensor, group_size: int, std_normalize: bool = True, eps: float = EPS):
    g = group_view(rewards.float(), group_size)
    mean = g.mean(-1, keepdim=True)
    adv = g - mean
    if std_normalize:
        std = g.std(-1, keepdim=True, unbiased=True) if group_size > 1 else torch.zeros_like(mean)
        adv = adv / (std + eps)
    return adv.reshape(-1)


def rloo_advantages(rewards: torch.Tensor, group_size: int):
    if group_size < 2:
        raise ValueError("RLOO needs at least 2 samples per group")
    g = group_view(rewards.float(), group_size)
    others = (g.sum(-1, keepdim=True) - g) / (group_size - 1)
    return (g - others).reshape(-1)


def reinforce_pp_advantages(rewards: torch.Tensor, eps: float = EPS):
    r = rewards.float().reshape(-1)
    if r.numel() < 2:
        return r - r.mean()
    return (r - r.mean()) / (r.std(unbiased=True) + eps)


def compute_advantages(rewards: torch.Tensor, group_size: int, estimator: str = "grpo",
                       std_normalize: bool = True) -> torch.Tensor:
    if estimator == "grpo":
        return grpo_advantages(rewards, group_size, std_normalize)
    if estimator == "rloo":
        return rloo_advantages(rewards, group_size)
    if estimator == "reinforce_pp":
        return reinforce_pp_advantages(rewards)
    raise ValueError(f"unknown advantage estimator '{estimator}'")


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, estimator: str = "low_var_kl") -> torch.Tensor:
    """Per-token KL(policy || reference) estimate from log-probs of tokens sampled from the policy.

    ``low_var_kl`` (Schulman's k3): exp(ref - logp) - (ref - logp) - 1, clamped to [-10, 10]
    like EasyR1; ``k1``: logp - ref; ``k2``: 0.5 (logp - ref)^2.
    """
    d = ref_logp - logp
    if estimator == "low_var_kl":
        d = d.clamp(-20.0, 20.0)
        return (torch.exp(d) - d - 1.0).clamp(-10.0, 10.0)
    if estimator == "k1":
        return -d
    if estimator == "k2":
        return 0.5 * d * d
    raise ValueError(f"unknown KL estimator '{estimator}'")


def clipped_policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                        clip_low: float = 0.2, clip_high: float | None = None):
    """Per-token PPO clipped surrogate (to minimise) and a per-token 'was clipped' indicator.

    loss = max(-A * ratio, -A * clip(ratio, 1 - clip_low, 1 + clip_high)), ratio = exp(logp - old_logp).
    ``advantages`` is [B] (broadcast over tokens) or [B, C].
    """
    clip_high = clip_low if clip_high is None else clip_high
    if advantages.dim() == 1 and logp.dim() == 2:
        advantages = advantages.unsqueeze(-1)
    ratio = torch.exp((logp - old_logp).clamp(-20.0, 20.0))
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    loss = torch.maximum(unclipped, clipped)
    was_clipped = (clipped > unclipped).float()
    return loss, was_clipped, ratio


def aggregate(values: torch.Tensor, mask: torch.Tensor, mode: str = "token_mean",
              normalizer: float | None = None) -> torch.Tensor:
    """Reduce per-token ``values`` [B, C] under ``mask``.

    ``token_mean``: sum over all tokens / number of tokens (``normalizer`` overrides the count, so
    micro-batches of one update can share the update's token count). ``seq_mean_token_mean``: mean
    over sequences of each sequence's token mean (``normalizer`` overrides the sequence count).
    """
    mask = mask.to(values.dtype)
    if mode == "token_mean":
        denom = normalizer if normalizer is not None else mask.sum().clamp_min(1.0)
        return (values * mask).sum() / denom
    if mode == "seq_mean_token_mean":
        per_seq = (values * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)
        denom = normalizer if normalizer is not None else max(values.shape[0], 1)
        return per_seq.sum() / denom
    raise ValueError(f"unknown loss aggregation '{mode}'")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)
