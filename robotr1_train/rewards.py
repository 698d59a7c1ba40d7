"""Rule-based rewards for Robot-R1 questions (arXiv 2506.00070). Imports nothing heavy (no torch).

The paper's reward is R = format + accuracy:

- ``format_reward``: 1.0 when the completion is ``<think> … </think>`` followed by exactly one
  ``<answer> … </answer>`` (only whitespace around and between them, each tag exactly once, a
  non-empty answer), else 0.0;
- ``mcqa_reward``: 1.0 when the single answer is the correct choice (``[[B]]`` or a bare ``B``),
  else 0.0;
- ``open_reward``: clip(1 − L1, 0, 1) between the answered ``[x, y, z]`` and the target (metres);
- ``reward(text, record)``: ``{"total", "format", "accuracy"}``, by the record's type.
- ``compute_score(reward_inputs)``: EasyR1's batch reward entry (``{"overall", "format", "accuracy"}``).

Accuracy does not need the think block: a direct-answer completion (``<answer> [[B]] </answer>``,
the ``sft_direct`` target) earns accuracy but no format reward.

None of these raise on a completion: None, non-strings, empty, garbage, unicode look-alikes and
anything longer than ``MAX_COMPLETION_CHARS`` (default 65,536 characters) score 0, in time
linear in the (capped) length. Parsing uses ``str.find``/``str.count`` for the tags and only small
anchored regular expressions on short, already-cut strings, so nothing can backtrack
catastrophically.
"""

from __future__ import annotations

import math
import re
from typing import Dict, Mapping, Optional, Sequence

MAX_COMPLETION_CHARS = 65_536
MAX_ANSWER_CHARS = 256

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
LETTERS = ("A", "B", "C", "D")

# ASCII-only on purpose: Python's \d and \s also match other scripts' digits and spaces.
_WS = " \t\r\n"
_LETTER = re.compile(r"\[\[([A-D])\]\]|([A-D])")
_NUMBER = r"[+-]?(?:[0-9]{1,6}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})"
_XYZ = re.compile(
    r"\[?[ \t]*(" + _NUMBER + r")[ \t]*,[ \t]*(" + _NUMBER + r")[ \t]*,[ \t]*(" + _NUMBER + r")[ \t]*\]?"
)

_ZERO = {"total": 0.0, "format": 0.0, "accuracy": 0.0}


def _usable(text) -> Optional[str]:
    if not isinstance(text, str) or not text or len(text) > MAX_COMPLETION_CHARS:
        return None
    return text


def _only_ws(s: str) -> bool:
    return not s.strip(_WS)


def format_reward(text) -> float:
    """1.0 for ``<think>…</think>`` then exactly one non-empty ``<answer>…</answer>``, else 0.0."""
    try:
        t = _usable(text)
        if t is None:
            return 0.0
        for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE):
            if t.count(tag) != 1:
                return 0.0
        a = t.find(THINK_OPEN)
        b = t.find(THINK_CLOSE)
        c = t.find(ANSWER_OPEN)
        d = t.find(ANSWER_CLOSE)
        if not (a < b < c < d):
            return 0.0
        if not (_only_ws(t[:a]) and _only_ws(t[b + len(THINK_CLOSE) : c]) and _only_ws(t[d + len(ANSWER_CLOSE) :])):
            return 0.0
        if _only_ws(t[c + len(ANSWER_OPEN) : d]):
            return 0.0
        return 1.0
    except Exception:  # never raise on a completion
        return 0.0


def parse_answer(text) -> Optional[str]:
    """The stripped content of the single ``<answer>…</answer>``; None when there is not exactly
    one pair, it is empty, or longer than ``MAX_ANSWER_CHARS``."""
    try:
        t = _usable(text)
        if t is None or t.count(ANSWER_OPEN) != 1 or t.count(ANSWER_CLOSE) != 1:
            return None
        c = t.find(ANSWER_OPEN) + len(ANSWER_OPEN)
        d = t.find(ANSWER_CLOSE)
        if d < c:
            return None
        content = t[c:d].strip(_WS)
        if not content or len(content) > MAX_ANSWER_CHARS:
            return None
        return content
    except Exception:
        return None


def parse_letter(content) -> Optional[str]:
    """``[[B]]`` or ``B`` (whole content, ASCII) -> ``"B"``; anything else None."""
    if not isinstance(content, str) or len(content) > MAX_ANSWER_CHARS:
        return None
    m = _LETTER.fullmatch(content.strip(_WS))
    if not m:
        return None
    return m.group(1) or m.group(2)


def parse_xyz(content) -> Optional[tuple]:
    """``[0.265, -0.112, 1.154]`` (brackets optional, ASCII digits) -> 3 floats; else None."""
    if not isinstance(content, str) or len(content) > MAX_ANSWER_CHARS:
        return None
    m = _XYZ.fullmatch(content.strip(_WS))
    if not m:
        return None
    try:
        vals = tuple(float(g) for g in m.groups())
    except ValueError:
        return None
    return vals if all(math.isfinite(v) for v in vals) else None


def _letter_of(answer) -> Optional[str]:
    if isinstance(answer, str):
        return parse_letter(answer)
    return None


def mcqa_reward(text, answer_letter) -> float:
    """1.0 when the completion's single answer is the correct choice, else 0.0."""
    try:
        want = _letter_of(answer_letter)
        got = parse_letter(parse_answer(text))
        return 1.0 if want is not None and got == want else 0.0
    except Exception:
        return 0.0


def open_reward(text, target_xyz) -> float:
    """clip(1 − L1(answer, target), 0, 1) for an ``[x, y, z]`` answer in metres, else 0.0."""
    try:
        got = parse_xyz(parse_answer(text))
        if got is None:
            return 0.0
        if isinstance(target_xyz, str):
            target = parse_xyz(target_xyz)
        else:
            target = tuple(float(v) for v in target_xyz)
        if target is None or len(target) != 3 or not all(math.isfinite(v) for v in target):
            return 0.0
        l1 = sum(abs(g - w) for g, w in zip(got, target))
        return float(min(1.0, max(0.0, 1.0 - l1)))
    except Exception:
        return 0.0


def record_kind(record: Mapping) -> str:
    """``"open"`` or ``"mcqa"`` for a QA record (by ``type``, else by the shape of ``answer``)."""
    qtype = record.get("type")
    if qtype == "waypoint_open":
        return "open"
    if qtype in ("waypoint", "current", "movement"):
        return "mcqa"
    if qtype is not None:
        raise ValueError(f"unknown question type {qtype!r} in record {record.get('id')!r}")
    if _letter_of(record.get("answer")) is not None:
        return "mcqa"
    if record.get("target") is not None or parse_xyz(record.get("answer")) is not None:
        return "open"
    raise ValueError(f"record {record.get('id')!r} has neither a type nor a recognisable answer")


def reward(text, record: Mapping) -> Dict[str, float]:
    """The paper's combined reward: ``{"total": format + accuracy, "format", "accuracy"}``.

    ``record`` is a QA record (robotr1_data.qa) or any mapping with ``answer`` (letter or
    ``[x, y, z]`` text) and optionally ``type`` / ``target``. A malformed *record* raises
    ValueError (a data bug); a malformed *completion* only scores 0.
    """
    kind = record_kind(record)
    if _usable(text) is None:
        return dict(_ZERO)
    fmt = format_reward(text)
    if kind == "open":
        target = record.get("target")
        acc = open_reward(text, target if target is not None else record.get("answer"))
    else:
        acc = mcqa_reward(text, record.get("answer"))
    return {"total": fmt + acc, "format": fmt, "accuracy": acc}


def batch_rewards(texts: Sequence, records: Sequence[Mapping]) -> list:
    """``reward`` over aligned lists (what a GRPO trainer's reward hook needs)."""
    return [reward(t, r) for t, r in zip(texts, records)]


def compute_score(reward_inputs: Sequence[Mapping]) -> list:
    """EasyR1's batch reward entry: ``[{"response", "response_length", "ground_truth"}, ...]`` ->
    ``[{"overall", "format", "accuracy"}, ...]``, ``overall`` = format + accuracy (the paper's R).

    EasyR1 (``verl/workers/reward/function.py``) calls it with the decoded responses and the
    ``answer`` column as ``ground_truth`` (``"B"`` or ``"[x, y, z]"``); the kind of question
    follows from the shape of the ground truth (``reward`` without a ``type``). It takes no
    ``worker.reward.reward_function_kwargs`` (EasyR1's examples weight format by 0.5): passing
    one fails loudly instead of silently changing the paper's R.
    """
    out = []
    for item in reward_inputs:
        r = reward(item.get("response"), {"answer": item.get("ground_truth")})
        out.append({"overall": r["total"], "format": r["format"], "accuracy": r["accuracy"]})
    return out
