"""Robot-R1's reward as TRL reward functions: ``format`` and ``accuracy``.

TRL calls each function as ``f(prompts=, completions=, completion_ids=, **columns)`` (every other
dataset column as a list, plus ``log_metric``) and sums their outputs with ``reward_weights``; with the
weights (1, 1) the sum is the paper's R = format + accuracy. TRL logs each function's mean as
``rewards/format/mean`` and ``rewards/accuracy/mean``, the weighted sum as ``reward``.

The scoring itself is ``robotr1_train.rewards`` (one implementation for TRL, EasyR1 and eval-qa).

Per question type, ``accuracy`` also reports ``accuracy/<type>`` and ``reward/<type>`` through TRL's
``log_metric``, one call per completion: TRL gathers the union of metric names from every process
(sorted, so every rank makes the same collective calls in the same order, even when a process holds
no question of some type) and then sums ``[sum of values, number of values]`` over processes, so the
logged value is the exact mean over all completions of that type, whatever the split.
"""

from __future__ import annotations

import json
from typing import Callable, Sequence

from robotr1_train.rewards import format_reward, reward


def completion_text(completion) -> str:
    """The text of a TRL completion: a string, or a list of chat messages (the last one's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)) and completion:
        content = completion[-1].get("content") if isinstance(completion[-1], dict) else None
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)):
            return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


def _records(record: Sequence) -> list:
    return [json.loads(r) if isinstance(r, str) else r for r in record]


def make_reward_funcs(format_weight: float = 1.0, accuracy_weight: float = 1.0) -> tuple[list[Callable], list[float]]:
    """(``[format, accuracy]``, their TRL ``reward_weights``)."""

    def format(prompts=None, completions=(), **kwargs) -> list[float]:  # noqa: A001 - TRL logs __name__
        return [float(format_reward(completion_text(c))) for c in completions]

    def accuracy(prompts=None, completions=(), record=(), log_metric=None, **kwargs) -> list[float]:
        out = []
        for c, rec in zip(completions, _records(record)):
            r = reward(completion_text(c), rec)
            out.append(float(r["accuracy"]))
            if log_metric is not None:
                qtype = str(rec.get("type", "unknown"))
                log_metric(f"accuracy/{qtype}", float(r["accuracy"]))
                log_metric(f"reward/{qtype}", format_weight * r["format"] + accuracy_weight * r["accuracy"])
        return out

    return [format, accuracy], [float(format_weight), float(accuracy_weight)]
