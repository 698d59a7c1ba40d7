"""Generation throughput against worker count: demos per minute with 1..W workers (and Ray).

Each point runs the whole `generate` job (process start-up, GL probe, shards, manifest) into a
fresh directory, so the numbers are what a user sees, not just the simulation loop. The same
seed gives byte-identical shards at every worker count; the script checks that too.

    python bench/scaling.py [--max-workers 2] [--episodes 8] [--ray] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from _report import emit  # bench/ is on sys.path when run as a script

os.environ.setdefault("OMP_NUM_THREADS", "1")


def run(out: Path, tasks, episodes, workers, cameras, size, ray=None) -> float:
    from robotr1_data.generate import GenerateConfig, generate
    cfg = GenerateConfig(tasks=tasks, episodes=episodes, out=str(out), seed=0, cameras=cameras,
                         image_size=(size, size), depth=False, mask=False,
                         episodes_per_shard=1, workers=workers, ray=ray)
    t0 = time.perf_counter()
    generate(cfg, show_progress=False)
    return time.perf_counter() - t0


def shas(out: Path):
    m = json.loads((out / "manifest.json").read_text())
    return {e["path"]: e["sha256"] for e in m["shards"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=["push_button", "reach_target"])
    p.add_argument("--episodes", type=int, default=8, help="episodes per task")
    p.add_argument("--max-workers", type=int, default=os.cpu_count())
    p.add_argument("--cameras", nargs="*", default=["front"])
    p.add_argument("--size", type=int, default=224, help="Robot-R1 setting: front 224² RGB")
    p.add_argument("--workers", type=int, nargs="+", default=None,
                   help="worker counts to run (default: 1 to --max-workers)")
    p.add_argument("--ray", action="store_true", help="also run with Ray at the max worker count")
    p.add_argument("--markdown", default=None)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_scaling_"))
    demos = args.episodes * len(args.tasks)
    rows, ref = [], None
    try:
        for w in args.workers or range(1, args.max_workers + 1):
            out = work / f"w{w}"
            secs = run(out, args.tasks, args.episodes, w, args.cameras, args.size)
            same = ref is None or shas(out) == ref
            ref = ref or shas(out)
            rows.append((f"{w} process{'es' if w > 1 else ''}", w, secs, same))
            print(f"workers {w}: {secs:.1f} s, {60 * demos / secs:.1f} demos/min, "
                  f"identical shards: {same}", flush=True)
        if args.ray:
            import ray
            ray.init(num_cpus=args.max_workers, include_dashboard=False, log_to_driver=False)
            try:
                out = work / "ray"
                secs = run(out, args.tasks, args.episodes, args.max_workers, args.cameras,
                           args.size, ray="auto")
            finally:
                ray.shutdown()
            rows.append((f"Ray, {args.max_workers} CPUs", args.max_workers, secs,
                         shas(out) == ref))
            print(f"ray {args.max_workers}: {secs:.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0][2]
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, MUJOCO_GL={os.environ.get('MUJOCO_GL', '?')}")
    lines = ["### Generation scaling (`bench/scaling.py`)", "",
             f"Machine: {machine}. {demos} demos ({', '.join(args.tasks)}), cameras "
             f"{', '.join(args.cameras) or 'none'} at {args.size}² RGB, one episode per shard; "
             "wall time of the whole command including worker start-up.", "",
             "| engine | workers | seconds | demos/min | speed-up | efficiency | identical shards |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, w, secs, same in rows:
        lines.append(f"| {name} | {w} | {secs:.1f} | {60 * demos / secs:.1f} | {base / secs:.2f}× | "
                     f"{base / secs / w:.0%} | {'yes' if same else 'NO'} |")
    text = "\n".join(lines) + "\n"
    emit(text, args.markdown)


if __name__ == "__main__":
    main()
