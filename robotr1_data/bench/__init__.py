"""Robot-R1 Bench: open-ended planning, high-level action, movement and spatial questions whose
references come from simulator ground truth (docs/bench.md)."""
