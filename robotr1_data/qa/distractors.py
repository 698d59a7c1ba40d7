"""State distractors and balanced answer letters.

State distractors (waypoint and current questions) are drawn uniformly from the reachable
workspace box and kept only if, *after rounding to the 3 decimals the prompt shows*, each is at
least ``min_separation`` (default 0.05 m, L2) from the answer and from every other option. So no
two options of a question can be confused at the printed precision, and every question has one
defensible answer.

Opt-in (``--state-distractors trajectory``): distractors are the same demo's own gripper positions
(:func:`sample_from_pool`), so their coordinates follow the answers' distribution instead of the
box's; the same separation rule holds, and no option repeats the answer's printed text.

Answer letters are assigned by block randomisation: per question type, each run of four questions
uses a fresh random permutation of A–D. Over a build every letter is the answer for the same
number of questions of each type, ±1 — balanced by construction, not by luck.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..errors import UsageError
from .templates import LETTERS

DEFAULT_MIN_SEPARATION = 0.05
MAX_DRAWS = 10_000


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Axis-aligned box (world metres) the gripper can reach; distractors are drawn inside it."""

    low: Tuple[float, float, float] = (-0.1, -0.45, 0.76)
    high: Tuple[float, float, float] = (0.6, 0.45, 1.45)

    def __post_init__(self):
        lo, hi = np.asarray(self.low, float), np.asarray(self.high, float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite(lo)) or not np.all(hi > lo):
            raise UsageError(
                f"workspace must be 3 finite lows below 3 highs (x y z), got low={self.low} "
                f"high={self.high}; pass --workspace XMIN XMAX YMIN YMAX ZMIN ZMAX"
            )

    @classmethod
    def from_flat(cls, values: Sequence[float]) -> "Workspace":
        """From ``[xmin, xmax, ymin, ymax, zmin, zmax]``."""
        v = [float(x) for x in values]
        if len(v) != 6:
            raise UsageError(f"workspace needs 6 numbers XMIN XMAX YMIN YMAX ZMIN ZMAX, got {len(v)}")
        return cls(low=(v[0], v[2], v[4]), high=(v[1], v[3], v[5]))

    def flat(self) -> List[float]:
        return [self.low[0], self.high[0], self.low[1], self.high[1], self.low[2], self.high[2]]


def round_xyz(xyz: Sequence[float]) -> np.ndarray:
    """What the prompt shows: 3 decimals (and no negative zero)."""
    return np.round(np.asarray(xyz, dtype=np.float64), 3) + 0.0


def sample_states(
    answer_xyz: Sequence[float],
    rng: np.random.Generator,
    workspace: Workspace = Workspace(),
    n: int = 3,
    min_separation: float = DEFAULT_MIN_SEPARATION,
) -> List[np.ndarray]:
    """``n`` rounded xyz points in ``workspace``, each ≥ ``min_separation`` from the answer and
    from each other and never printed the same as any of them (all compared as printed, i.e.
    rounded to 3 decimals)."""
    return fill_states(answer_xyz, [], rng, workspace, n, min_separation)


def sample_from_pool(
    answer_xyz: Sequence[float],
    pools: Sequence[np.ndarray],
    rng: np.random.Generator,
    n: int = 3,
    min_separation: float = DEFAULT_MIN_SEPARATION,
) -> Tuple[List[np.ndarray], int]:
    """Up to ``n`` rounded points taken from ``pools`` (each an (N, 3) array of candidates, tried
    in order: the first pool is preferred, later ones fill what it cannot), each ≥
    ``min_separation`` from the answer and from each other and never printed the same as any
    of them (all compared as printed). Within a pool the candidates are tried in a random order,
    so a position that occurs more often in the pool is drawn more often.

    Returns the points and the index of the last pool used (0 when the first pool sufficed);
    fewer than ``n`` points when the pools run out (the caller fills the rest)."""
    chosen = [round_xyz(answer_xyz)]
    used = 0
    for i, pool in enumerate(pools):
        pool = np.asarray(pool, dtype=np.float64).reshape(-1, 3)
        for j in rng.permutation(len(pool)):
            if len(chosen) == n + 1:
                break
            cand = round_xyz(pool[j])
            if all(np.linalg.norm(cand - c) >= min_separation and np.any(cand != c) for c in chosen):
                chosen.append(cand)
                used = i
        if len(chosen) == n + 1:
            break
    return chosen[1:], used


def fill_states(
    answer_xyz: Sequence[float],
    have: Sequence[np.ndarray],
    rng: np.random.Generator,
    workspace: Workspace = Workspace(),
    n: int = 3,
    min_separation: float = DEFAULT_MIN_SEPARATION,
) -> List[np.ndarray]:
    """``have`` completed to ``n`` points with workspace draws (the rule of :func:`sample_states`)."""
    chosen = [round_xyz(answer_xyz)] + [np.asarray(h) for h in have]
    lo, hi = np.asarray(workspace.low), np.asarray(workspace.high)
    for _ in range(MAX_DRAWS):
        if len(chosen) == n + 1:
            return chosen[1:]
        cand = round_xyz(rng.uniform(lo, hi))
        if all(np.linalg.norm(cand - c) >= min_separation and np.any(cand != c) for c in chosen):
            chosen.append(cand)
    if len(chosen) == n + 1:
        return chosen[1:]
    raise UsageError(
        f"could not place {n} distractors {min_separation} m apart in workspace "
        f"{workspace.flat()} after {MAX_DRAWS} draws; lower --min-separation or widen --workspace"
    )


class LetterAssigner:
    """Balanced answer letters per question type (block randomisation, blocks of 4)."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._blocks: Dict[str, List[str]] = {}

    def next(self, qtype: str) -> str:
        block = self._blocks.get(qtype)
        if not block:
            block = [LETTERS[i] for i in self._rng.permutation(len(LETTERS))]
            self._blocks[qtype] = block
        return block.pop()


def arrange(correct_letter: str, answer: str, distractors: Sequence[str]) -> Dict[str, str]:
    """Options dict A–D with ``answer`` at ``correct_letter`` and distractors in order elsewhere."""
    if len(distractors) != len(LETTERS) - 1:
        raise ValueError(f"need {len(LETTERS) - 1} distractors, got {len(distractors)}")
    rest = iter(distractors)
    return {k: (answer if k == correct_letter else next(rest)) for k in LETTERS}
