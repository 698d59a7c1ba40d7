"""Memory soak: RSS of one simulator over many resets (RLBench users report growth after ~1,500).

One MujocoSim is reset N times (new variation and seed each time), rendering the cameras after
each reset and stepping a few control steps, as a data generator does; resident memory is
sampled every ``--every`` resets after a short warm-up. Prints the samples and the growth.

    python bench/soak.py [--task push_button] [--resets 2000] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _report import emit  # noqa: E402  (bench/ is on sys.path when run as a script)

from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim  # noqa: E402
from robotr1_data.tasks.registry import get_task  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def soak(task: str, resets: int, every: int, cameras, size: int, warmup: int = 50) -> dict:
    samples = []
    t0 = time.perf_counter()
    with MujocoSim(get_task(task), cameras=cameras, image_size=(size, size)) as sim:
        count = sim.task.variation_count()
        for n in range(warmup + resets):
            sim.reset(n % count, np.random.default_rng(n))
            for _ in range(3):
                sim.step()
            sim.observe()
            sim.render()
            if n >= warmup and (n - warmup) % every == 0 or n == warmup + resets - 1:
                samples.append((n - warmup + 1, rss_mib()))
    secs = time.perf_counter() - t0
    first, last = samples[0][1], samples[-1][1]
    half = [r for k, r in samples if k >= resets // 2]
    return {"task": task, "resets": resets, "cameras": list(cameras), "size": size,
            "samples": samples, "rss_first_mib": first, "rss_last_mib": last,
            "growth_mib": last - first,
            "growth_second_half_mib": (half[-1] - half[0]) if half else 0.0,
            "seconds": secs}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="push_button")
    p.add_argument("--resets", type=int, default=2000)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--cameras", nargs="*", default=["front", "wrist"])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--markdown", default=None, help="append the result table to this file")
    args = p.parse_args()
    r = soak(args.task, args.resets, args.every, args.cameras, args.size)
    for k, rss in r["samples"]:
        print(f"reset {k:>5}  RSS {rss:8.1f} MiB", flush=True)
    line = (f"| {r['task']} | {', '.join(r['cameras']) or 'none'} {r['size']}² | {r['resets']} | "
            f"{r['rss_first_mib']:.1f} | {r['rss_last_mib']:.1f} | {r['growth_mib']:+.1f} | "
            f"{r['growth_second_half_mib']:+.1f} | {r['seconds']:.0f} |")
    table = ("| task | cameras | resets | RSS after warm-up (MiB) | RSS at end (MiB) | growth (MiB) "
             "| growth, 2nd half (MiB) | time (s) |\n|---|---|---:|---:|---:|---:|---:|---:|\n" + line)
    emit(table, args.markdown)


if __name__ == "__main__":
    main()
