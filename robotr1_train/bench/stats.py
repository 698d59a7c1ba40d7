"""Mean score with a 95 % interval (Student t on the per-question scores, clipped to 0-3)."""

from __future__ import annotations

import math
from typing import Optional, Sequence


def _t95(df: int) -> float:
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, df))
    except ImportError:  # scipy is optional: the normal quantile (slightly narrow below ~30)
        return 1.959964


def mean_ci(scores: Sequence[Optional[float]]) -> dict:
    vals = [float(s) for s in scores if s is not None]
    n = len(vals)
    out = {"n": n, "unparsed": sum(1 for s in scores if s is None), "mean": None, "ci95": None}
    if not n:
        return out
    m = sum(vals) / n
    out["mean"] = m
    if n > 1:
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (n - 1))
        h = _t95(n - 1) * sd / math.sqrt(n)
        out["ci95"] = [max(0.0, m - h), min(3.0, m + h)]
    else:
        out["ci95"] = [m, m]
    return out
