"""Generate a dataset: expert demos for several tasks written to HDF5 shards plus a manifest.

Work is split into units of (task, shard index): each unit owns a fixed range of episode
numbers and every episode's seed depends only on (seed, task, episode, attempt), so the same
command gives the same arrays whatever the worker count. A unit writes its shard atomically; a
rerun skips units whose shard is already complete, so a killed run resumes.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from robotr1_data import __version__
from robotr1_data.episode import CAMERAS
from robotr1_data.errors import UsageError


class GenerationError(RuntimeError):
    """Some shards could not be completed; the message lists each with its reason."""


@dataclasses.dataclass
class GenerateConfig:
    tasks: List[str]
    episodes: int = 10
    out: str = "data"
    seed: int = 0
    cameras: List[str] = dataclasses.field(default_factory=lambda: list(CAMERAS))
    image_size: Tuple[int, int] = (128, 128)
    rgb: bool = True
    depth: bool = True
    mask: bool = True
    render_quality: bool = False
    variation: Optional[int] = None  # None: cycle through all variations (episode % count)
    image_every: int = 1
    episodes_per_shard: int = 25
    max_attempts: int = 10
    workers: int = 1
    backend: str = "mujoco"

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        d["robotr1_version"] = __version__
        return d

    def check(self) -> None:
        from robotr1_data.tasks.registry import get_task
        if self.backend == "mujoco":
            for t in self.tasks:
                get_task(t)
        bad = [c for c in self.cameras if c not in CAMERAS]
        if bad:
            raise UsageError(f"unknown camera(s) {bad}; choose from {list(CAMERAS)} or 'none'")
        h, w = self.image_size
        if not (16 <= h <= 1024 and 16 <= w <= 1024):
            raise UsageError(f"bad --image-size {h} {w}: both sides must be within 16..1024 pixels")
        if self.episodes < 1:
            raise UsageError(f"--episodes must be at least 1 (got {self.episodes})")
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1 (got {self.workers})")
        if self.image_every < 1:
            raise UsageError(f"--image-every must be at least 1 (got {self.image_every})")
        from robotr1_data.sim.factory import BACKENDS
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown backend '{self.backend}'; choose one of {', '.join(BACKENDS)}")
        out = Path(self.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".write_test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"cannot write to output directory '{out}' ({exc.strerror}); "
                             f"choose another --out") from None


@dataclasses.dataclass
class Unit:
    task: str
    shard: int
    episodes: List[int]

    @property
    def path(self) -> str:
        return f"{self.task}/shard-{self.shard:05d}.h5"


def plan_units(cfg: GenerateConfig) -> List[Unit]:
    units = []
    for task in cfg.tasks:
        for s, start in enumerate(range(0, cfg.episodes, cfg.episodes_per_shard)):
            units.append(Unit(task, s, list(range(start, min(start + cfg.episodes_per_shard,
                                                              cfg.episodes)))))
    return units


def _unit_complete(cfg: GenerateConfig, unit: Unit) -> bool:
    from robotr1_data.shards import ShardReader
    path = Path(cfg.out) / unit.path
    if not path.exists():
        return False
    try:
        with ShardReader(path) as r:
            same = {k: v for k, v in r.config.items() if k not in ("workers",)} == \
                   {k: v for k, v in cfg.to_json().items() if k not in ("workers",)}
            return same and len(r.episodes) == len(unit.episodes)
    except Exception:
        return False


def run_unit(cfg: GenerateConfig, unit: Unit, progress=None) -> dict:
    """Record one unit's episodes into its shard; returns statistics for the summary."""
    from robotr1_data.record import AttemptLog, record_with_retries
    from robotr1_data.shards import ShardWriter
    from robotr1_data.sim.factory import make_demo_source

    log = AttemptLog()
    stats = {"task": unit.task, "shard": unit.path, "episodes": 0, "frames": 0, "keypoints": 0,
             "seconds": 0.0}
    t0 = time.perf_counter()

    def on_failure(task, episode, attempt, err):
        msg = f"  expert failed: {task} episode {episode} attempt {attempt + 1}: {err}"
        print(msg, file=sys.stderr, flush=True)

    path = Path(cfg.out) / unit.path
    path.parent.mkdir(parents=True, exist_ok=True)
    with make_demo_source(cfg.backend, unit.task, cameras=cfg.cameras,
                          image_size=tuple(cfg.image_size), rgb=cfg.rgb, depth=cfg.depth,
                          mask=cfg.mask, render_quality=cfg.render_quality,
                          image_every=cfg.image_every) as source:
        count = source.variation_count()
        if cfg.variation is not None and not 0 <= cfg.variation < count:
            raise UsageError(f"task {unit.task} has {count} variations; --variation "
                             f"{cfg.variation} is out of range 0..{count - 1}")
        with ShardWriter(path, cfg.to_json()) as writer:
            for e in unit.episodes:
                variation = cfg.variation if cfg.variation is not None else e % count
                ep = record_with_retries(source, unit.task, variation, cfg.seed, e,
                                         cfg.max_attempts, log, on_failure=on_failure)
                ep.extra = dict(ep.extra or {}, episode_index=e)
                writer.add(ep)
                stats["episodes"] += 1
                stats["frames"] += ep.length
                stats["keypoints"] += len(ep.keypoints)
                if progress is not None:
                    progress()
    stats["attempts"] = log.attempts
    stats["failures"] = log.failures
    stats["seconds"] = time.perf_counter() - t0
    return stats


def _worker(args, progress=None):
    cfg, unit = args
    try:
        return run_unit(cfg, unit, progress=progress)
    except UsageError as exc:
        return {"task": unit.task, "shard": unit.path, "usage_error": str(exc)}
    except Exception as exc:  # report and go on: the other shards are still worth writing
        return {"task": unit.task, "shard": unit.path, "error": f"{type(exc).__name__}: {exc}"}


def generate(cfg: GenerateConfig, show_progress: bool = True) -> Dict[str, dict]:
    """Run the whole job; returns per-task statistics. Raises on any unit that failed."""
    from tqdm import tqdm

    from robotr1_data.shards import write_manifest

    cfg.check()
    if cfg.cameras:
        # Decide the GL platform once here; workers inherit MUJOCO_GL and skip the probe.
        from robotr1_data.sim.gl import ensure_gl
        ensure_gl()
    units = plan_units(cfg)
    todo = [u for u in units if not _unit_complete(cfg, u)]
    skipped = len(units) - len(todo)
    if skipped:
        print(f"resuming: {skipped} of {len(units)} shards already complete")
    results: List[dict] = []
    total = sum(len(u.episodes) for u in todo)
    bar = tqdm(total=total, unit="demo", disable=not show_progress, file=sys.stderr)
    if cfg.workers == 1:
        for unit in todo:
            results.append(_worker((cfg, unit), progress=lambda: bar.update(1)))
            if "usage_error" in results[-1]:
                break
    else:
        ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no inherited GL state
        with ctx.Pool(min(cfg.workers, len(todo) or 1), maxtasksperchild=8) as pool:
            for res in pool.imap_unordered(_worker, [(cfg, u) for u in todo]):
                results.append(res)
                bar.update(res.get("episodes", 0))
    bar.close()
    usage = [r["usage_error"] for r in results if "usage_error" in r]
    if usage:
        raise UsageError(usage[0])
    errors = [r for r in results if "error" in r]
    entries = [Path(cfg.out) / u.path for u in units if (Path(cfg.out) / u.path).exists()]
    write_manifest(cfg.out, entries, config=cfg.to_json())
    if errors:
        lines = "\n".join(f"  {r['shard']}: {r['error']}" for r in errors)
        raise GenerationError(f"{len(errors)} shard(s) failed (completed shards are kept; rerun "
                              f"the same command to retry only these):\n{lines}")
    return summarize(results)


def summarize(results: Sequence[dict]) -> Dict[str, dict]:
    per_task: Dict[str, dict] = {}
    for r in results:
        t = per_task.setdefault(r["task"], {"episodes": 0, "frames": 0, "keypoints": 0,
                                            "attempts": 0, "failures": {}, "seconds": 0.0})
        for k in ("episodes", "frames", "keypoints", "attempts", "seconds"):
            t[k] += r.get(k, 0)
        for reason, n in r.get("failures", {}).items():
            t["failures"][reason] = t["failures"].get(reason, 0) + n
    return per_task


def format_summary(per_task: Dict[str, dict]) -> str:
    head = f"{'task':<24}{'demos':>6}{'attempts':>9}{'frames/demo':>12}{'kp/demo':>8}{'s/demo':>8}  failures"
    lines = [head, "-" * len(head)]
    for task, t in per_task.items():
        n = max(t["episodes"], 1)
        fails = ", ".join(f"{k}={v}" for k, v in sorted(t["failures"].items())) or "none"
        lines.append(f"{task:<24}{t['episodes']:>6}{t['attempts']:>9}{t['frames'] / n:>12.1f}"
                     f"{t['keypoints'] / n:>8.1f}{t['seconds'] / n:>8.2f}  {fails}")
    return "\n".join(lines)


def save_summary(out: str, per_task: Dict[str, dict]) -> None:
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(per_task, f, indent=2, sort_keys=True)
