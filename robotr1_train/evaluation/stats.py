"""Binomial confidence intervals for success rates."""

from __future__ import annotations

import math
from typing import Optional, Tuple

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> Tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is not degenerate at 0/n or n/n
    (0 of 10 gives [0, 0.278]). ``n == 0`` gives the uninformative [0, 1].
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends (no 0.9999999)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def rate(successes: int, n: int) -> Optional[float]:
    return successes / n if n > 0 else None
