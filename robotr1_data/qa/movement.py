"""Movement labels (the Robot-R1 rule) and their adjacent movements (the distractors).

A movement is coded per axis (x, y, z) as an integer in {-2, -1, 0, +1, +2}:
``±2`` = "move <dir>", ``±1`` = "move slightly <dir>", ``0`` = no change on that axis.

Rule, on Δ = next keypoint xyz − current xyz (world metres):

- an axis whose ``|Δ_axis| < min_move`` (default 0.01 m) has no change (code 0);
- otherwise the sign gives the direction (+x forward, −x backward, +y right, −y left, +z up,
  −z down) and the axis is "slightly" (code ±1) when ``|Δ_axis| ≤ 0.5 · max|Δ|``, else ±2;
- if every axis is below ``min_move`` there is no movement (all zeros): the builder asks no
  movement question there.

So every real movement has at least one ±2 axis (the largest one). Those are the *valid* codes.

Adjacent movements: valid codes at the smallest L1 distance (in code space) from the answer that
gives at least three of them — first distance 1 (one axis one step along
backward ← slightly backward ← none → slightly forward → forward), then 2, and so on. Three are
drawn from that ring with the build's Generator; e.g. "move forward" has adjacent movements
"move forward, move slightly left", "… slightly right", "… slightly up", "… slightly down".

Opt-in alternatives (``--movement-distractors``), because adjacent distractors give the answer away
(it is the option sharing the most phrases with the other three): ``random`` draws three valid
codes uniformly (:func:`sample_uniform`); ``task`` draws them from a pool of movements, the
answers of the build's movement questions of the same task (:func:`sample_from_pool`), so a
distractor is as common a movement as an answer is.
"""

from __future__ import annotations

import itertools
from typing import List, Sequence, Tuple

import numpy as np

from . import templates

Code = Tuple[int, int, int]

DEFAULT_MIN_MOVE = 0.01
SLIGHT_RATIO = 0.5


def movement_code(delta: Sequence[float], min_move: float = DEFAULT_MIN_MOVE) -> Code:
    """Code a displacement by the Robot-R1 rule (see module docstring)."""
    d = np.asarray(delta, dtype=np.float64).reshape(3)
    mag = np.abs(d)
    if not np.all(np.isfinite(d)):
        raise ValueError(f"movement delta must be finite, got {d.tolist()}")
    peak = float(mag.max())
    if peak < min_move:
        return (0, 0, 0)
    out = []
    for v, m in zip(d, mag):
        if m < min_move:
            out.append(0)
        else:
            step = 1 if m <= SLIGHT_RATIO * peak else 2
            out.append(int(np.sign(v)) * step)
    return tuple(out)  # type: ignore[return-value]


def is_valid(code: Code) -> bool:
    """A code the rule can produce for a real movement: at least one full-size axis."""
    return any(abs(c) == 2 for c in code) and all(abs(c) <= 2 for c in code)


def label(code: Code) -> str:
    """Text of a movement, axes in x, y, z order: ``move forward, move slightly left``."""
    parts = []
    for axis, c in enumerate(code):
        if c == 0:
            continue
        word = templates.AXIS_WORDS[(axis, 1 if c > 0 else -1)]
        parts.append((templates.MOVE if abs(c) == 2 else templates.MOVE_SLIGHTLY).format(word=word))
    return templates.MOVE_JOIN.join(parts) if parts else templates.NO_MOVE


def movement_label(delta: Sequence[float], min_move: float = DEFAULT_MIN_MOVE) -> str:
    return label(movement_code(delta, min_move))


_ALL_VALID: List[Code] = [c for c in itertools.product(range(-2, 3), repeat=3) if is_valid(c)]


def code_distance(a: Code, b: Code) -> int:
    return int(sum(abs(x - y) for x, y in zip(a, b)))


def adjacent(code: Code, n: int = 3) -> List[Code]:
    """The nearest ring of valid codes holding at least ``n`` codes (sorted, deterministic)."""
    others = [c for c in _ALL_VALID if c != tuple(code)]
    by_dist: dict = {}
    for c in others:
        by_dist.setdefault(code_distance(code, c), []).append(c)
    pool: List[Code] = []
    for dist in sorted(by_dist):
        pool.extend(by_dist[dist])
        if len(pool) >= n:
            break
    return sorted(pool)


def sample_adjacent(code: Code, rng: np.random.Generator, n: int = 3) -> List[Code]:
    """``n`` distinct adjacent movements, drawn with ``rng``.

    Codes at the nearest distance come first; if the last ring needed holds more than is left,
    the draw among that ring is random.
    """
    pool = adjacent(code, n)
    dist = np.array([code_distance(code, c) for c in pool])
    chosen: List[Code] = []
    for d in sorted(set(dist.tolist())):
        ring = [c for c, dd in zip(pool, dist) if dd == d]
        need = n - len(chosen)
        if len(ring) <= need:
            chosen.extend(ring)
        else:
            idx = rng.choice(len(ring), size=need, replace=False)
            chosen.extend(ring[i] for i in sorted(idx.tolist()))
        if len(chosen) >= n:
            break
    order = rng.permutation(len(chosen))
    return [chosen[i] for i in order]


def valid_codes() -> List[Code]:
    return list(_ALL_VALID)


def sample_uniform(code: Code, rng: np.random.Generator, n: int = 3) -> List[Code]:
    """``n`` distinct valid codes other than ``code``, uniformly."""
    others = [c for c in _ALL_VALID if c != tuple(code)]
    return [others[i] for i in rng.choice(len(others), size=n, replace=False)]


def sample_from_pool(code: Code, pool: Sequence[Code], rng: np.random.Generator, n: int = 3) -> Tuple[List[Code], int]:
    """``n`` distinct codes other than ``code`` from ``pool`` (a multiset: a code listed more
    often is drawn more often), completed uniformly from the valid codes when the pool holds
    fewer than ``n`` others. Returns the codes and how many came from that completion."""
    chosen: List[Code] = []
    for i in rng.permutation(len(pool)):
        c = tuple(pool[i])
        if c != tuple(code) and c not in chosen:
            chosen.append(c)  # type: ignore[arg-type]
            if len(chosen) == n:
                return chosen, 0
    missing = n - len(chosen)
    rest = [c for c in _ALL_VALID if c != tuple(code) and c not in chosen]
    chosen.extend(rest[i] for i in rng.choice(len(rest), size=missing, replace=False))
    return chosen, missing
