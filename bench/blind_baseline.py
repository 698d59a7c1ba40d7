"""Blind baseline: how much of a QA store can be answered from the option text alone, no image?

    python bench/blind_baseline.py TRAIN_QA TEST_QA [--markdown FILE]

For each question type a linear scorer over hand-made features of each option's text is fitted on
``TRAIN_QA`` (softmax over the four options, plain gradient descent) and scored on ``TEST_QA``:

- ``waypoint`` / ``current``: the option's xyz, their squares, ``|y|``, and, where the prompt states
  the current gripper position, the option's distance to it (per axis and L2);
- ``movement``: how many of its phrases ("move slightly left", ...) the option shares with the
  other three options, its number of phrases, and its symmetric difference to them.

Beside it, a second blind rule, the **answer prior**: pick the option whose text was most often the
answer of that task's questions of that type in ``TRAIN_QA`` (ties: the first such option). It
catches distractors drawn from a different distribution than answers (e.g. uniform random
movements while real movements are mostly "move down").

A model that beats chance (0.25) only by as much as these rules do may be reading these cues, not
the scene. Written here (numpy, ~100 lines) rather than with scikit-learn because the model is a
conditional logit over four options, which scikit-learn has no estimator for, and the project does
not depend on scikit-learn.

The last stdout line is one JSON object:
``{"chance": 0.25, "<type>": {"accuracy": a, "prior": b, "n": n}, ...}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from typing import Callable, Dict, List, Sequence

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LETTERS = "ABCD"
CURRENT = re.compile(r"Current Robot State Position: \[([^\]]+)\]")


def _xyz(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.strip().strip("[]").split(",")], dtype=np.float64)


def option_features(record: dict) -> np.ndarray:
    """One feature row per option (4 x F) for ``record`` (see the module docstring)."""
    options = [str(record["options"][k]) for k in LETTERS]
    rows = []
    if record.get("type") == "movement":
        phrases = [set(o.split(", ")) for o in options]
        for i, p in enumerate(phrases):
            others = [q for j, q in enumerate(phrases) if j != i]
            rows.append([sum(len(p & q) for q in others), len(p), sum(len(p ^ q) for q in others)])
        return np.asarray(rows, dtype=np.float64)
    m = CURRENT.search(record.get("prompt", ""))
    current = _xyz(m.group(1)) if m else None
    for o in options:
        v = _xyz(o)
        row = [*v, *(v ** 2), abs(v[1])]
        if current is not None:
            d = v - current
            row += [float(np.linalg.norm(d)), *(d ** 2)]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64)


def fit(records: Sequence[dict], steps: int = 3000, lr: float = 0.05) -> Callable[[Sequence[dict]], np.ndarray]:
    """Conditional-logit scorer fitted on ``records`` (one question type); returns a predictor of
    the answer index for other records of that type."""
    feats = [option_features(r) for r in records]
    widths = {f.shape[1] for f in feats}
    if len(widths) != 1:  # a store mixing prompts with and without the current position
        raise ValueError(f"questions of one type give feature rows of different widths {sorted(widths)}")
    stacked = np.concatenate(feats)
    mu, sd = stacked.mean(0), stacked.std(0) + 1e-9
    X = np.stack([(f - mu) / sd for f in feats])
    y = np.array([LETTERS.index(r["answer"]) for r in records])
    w = np.zeros(X.shape[2])
    for _ in range(steps):
        s = X @ w
        s -= s.max(1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(1, keepdims=True)
        grad = np.einsum("nk,nkd->d", p, X) - X[np.arange(len(y)), y].sum(0)
        w -= lr * grad / len(y)

    def predict(rows: Sequence[dict]) -> np.ndarray:
        return np.array([int(np.argmax(((option_features(r) - mu) / sd) @ w)) for r in rows])

    return predict


def answer_prior(records: Sequence[dict]) -> Callable[[Sequence[dict]], np.ndarray]:
    """Predictor: the option whose text was most often the answer for the record's task in ``records``."""
    counts: Dict[tuple, int] = {}
    for r in records:
        key = (r.get("task"), str(r["options"][r["answer"]]))
        counts[key] = counts.get(key, 0) + 1

    def predict(rows: Sequence[dict]) -> np.ndarray:
        return np.array([int(np.argmax([counts.get((r.get("task"), str(r["options"][k])), 0) for k in LETTERS]))
                         for r in rows])

    return predict


def blind_accuracy(train: Sequence[dict], test: Sequence[dict]) -> Dict[str, dict]:
    """Held-out accuracy of the scorer and of the answer prior per question type present in both lists."""
    out = {}
    for t in sorted({r["type"] for r in train} & {r["type"] for r in test}):
        a = [r for r in train if r["type"] == t]
        b = [r for r in test if r["type"] == t]
        truth = np.array([LETTERS.index(r["answer"]) for r in b])
        scored = float((fit(a)(b) == truth).mean())
        prior = float((answer_prior(a)(b) == truth).mean())
        out[t] = {"accuracy": round(scored, 4), "prior": round(prior, 4), "n": len(b)}
    return out


def table(result: Dict[str, dict]) -> str:
    lines = ["| question type | held-out n | blind scorer | answer prior | ± 1 s.e. (at 0.5) |", "|---|---:|---:|---:|---:|"]
    for t, v in result.items():
        n = v["n"]
        lines.append(f"| {t} | {n} | {v['accuracy']:.3f} | {v['prior']:.3f} | {math.sqrt(0.25 / n):.3f} |")
    return "\n".join(lines)


def main(argv: List[str] = None) -> int:
    from robotr1_data.errors import UsageError
    from robotr1_train.data import load_records

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("train_qa", help="QA store the scorer is fitted on")
    p.add_argument("test_qa", help="QA store it is scored on (other demos, other seed)")
    p.add_argument("--markdown", default=None, help="append the table to this file")
    args = p.parse_args(argv)
    try:
        train, test = load_records(args.train_qa), load_records(args.test_qa)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = blind_accuracy(train, test)
    text = table(result)
    print(text, file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(text + "\n")
    print(json.dumps({"chance": 0.25, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
