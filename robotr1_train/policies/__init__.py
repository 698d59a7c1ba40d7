"""Policies for the closed-loop evaluator (docs/evaluation.md).

``make_policy("vlm:RUN_DIR" | "oracle" | "random" | "noop", **vlm_options)`` builds one; see
``base`` for the interface (``Observation`` -> ``KeypointTarget``).
"""

from __future__ import annotations

from robotr1_data.errors import UsageError, did_you_mean
from robotr1_train.policies.base import (EpisodeContext, KeypointTarget, Observation, Policy,  # noqa: F401
                                         PolicyOutputError, default_approach_quat)

POLICY_KINDS = ("vlm", "oracle", "random", "noop")


def parse_policy_spec(spec: str):
    """``"vlm:RUN_DIR"`` -> ("vlm", "RUN_DIR"); ``"oracle"`` -> ("oracle", None)."""
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError("empty --policy; use vlm:RUN_DIR, oracle, random or noop")
    kind, _, arg = spec.strip().partition(":")
    if kind not in POLICY_KINDS:
        raise UsageError(f"unknown policy '{kind}'{did_you_mean(kind, POLICY_KINDS)}; "
                         "use vlm:RUN_DIR, oracle, random or noop")
    if kind == "vlm" and not arg:
        raise UsageError("the vlm policy needs a checkpoint: --policy vlm:RUN_DIR")
    if kind != "vlm" and arg:
        raise UsageError(f"policy '{kind}' takes no argument (got '{spec}')")
    return kind, (arg or None)


def policy_label(spec: str) -> str:
    """A short name for tables and file names: ``vlm:runs/grpo1`` -> ``vlm-grpo1``."""
    import os
    import re

    kind, arg = parse_policy_spec(spec)
    if arg is None:
        return kind
    base = os.path.basename(os.path.normpath(arg)) or "model"
    if base == "final":
        base = os.path.basename(os.path.dirname(os.path.normpath(arg))) or base
    return "vlm-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", base)


def make_policy(spec: str, **vlm_options) -> Policy:
    kind, arg = parse_policy_spec(spec)
    if kind == "oracle":
        from robotr1_train.policies.oracle import OraclePolicy

        return OraclePolicy()
    if kind == "random":
        from robotr1_train.policies.random_policy import RandomPolicy

        return RandomPolicy()
    if kind == "noop":
        from robotr1_train.policies.noop import NoopPolicy

        return NoopPolicy()
    from robotr1_train.policies.vlm import VLMPolicy

    return VLMPolicy(arg, **vlm_options)
