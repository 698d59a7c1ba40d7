"""Robot-R1 Bench evaluation (``robotr1-train eval-bench``): answer, judge 0-3, report (docs/bench.md)."""
