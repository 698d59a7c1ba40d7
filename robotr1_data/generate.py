"""Generate a dataset: expert demos for several tasks written to HDF5 shards plus a manifest.

Work is split into units of (task, shard index): each unit owns a fixed range of episode
numbers and every episode's seed depends only on (seed, task, episode, attempt), so the same
command gives the same arrays -- and the same shard bytes -- whatever the worker count or engine
(one process, ``--workers W`` spawned processes, or ``--ray`` tasks on a Ray cluster).

Data safety: a unit writes its shard atomically (hidden temporary file, fsync, rename), so a
shard that exists is complete. A rerun of the same command takes a lock on the output directory,
removes temporary files left by a killed run, skips units whose shard is already complete and
rewrites the manifest at the end: kill -9 at any moment and rerun, and the dataset ends with
exactly the episodes asked for. See docs/generation.md.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from robotr1_data import __version__
from robotr1_data.backends import backend_choices, get_backend
from robotr1_data.episode import check_views
from robotr1_data.config import check_bounds, opt
from robotr1_data.errors import GenerationError, UsageError, output_dir
from robotr1_data.files import OutputLock, remove_partial_files
from robotr1_data.jobs import run_jobs
from robotr1_data.ray_address import check_ray_address
from robotr1_data.views import ViewConfig, check_tessellation_backend


# GenerateConfig fields that say how a run executes, not what it produces.
EXECUTION_FIELDS = ("out", "workers", "ray", "ray_timeout")
RECYCLE_EPISODES = 200
MAX_EPISODES = 1_000_000  # per task: far beyond any real run, small enough to plan in memory


def compression_arg(value):
    return None if value in (None, "none") else value


@dataclasses.dataclass
class GenerateConfig(ViewConfig):
    inherited_after = "seed"  # the view flags (cameras ... tessellation) follow --seed

    tasks: List[str] = opt(help="task names (`robotr1-data list-tasks`); a typo gets a "
                                "did-you-mean", default_factory=list, required=True,
                           metavar="TASK")
    # max: far beyond any real run, small enough to plan the units in memory
    episodes: int = opt(10, "demos per task; never fewer: a failed demo is retried with a new "
                            "seed", min=1, max=1_000_000)
    out: str = opt("data", "output directory: <task>/shard-NNNNN.h5, manifest.json, "
                           "summary.json", required=True)
    seed: int = opt(0, "the one seed; an attempt's seed is a function of (seed, task, episode, "
                       "attempt)", min=0, max=2**63 - 1)
    variation: Optional[int] = opt(None, "record only this variation (default: episode e gets "
                                         "variation e % count)", min=0)
    image_every: int = opt(1, "images every K-th step and at every keypoint (rendered "
                           "afterwards from the stored state); states at every step; K = 10 "
                           "records the Robot-R1 setting ~2.5x faster", min=1,
                           metavar="K")
    episodes_per_shard: int = opt(25, "episodes in one shard: the unit of work and of resumption",
                                  min=1)
    max_attempts: int = opt(10, "seeds tried per episode before the run reports the "
                                     "episode as failed", min=1, max=1000)
    workers: int = opt(1, "simulator processes, one simulator each; the same bytes "
                             "whatever the count", min=1,
                       max=1024)
    backend: str = opt("mujoco", "simulator that records the demos; rlbench needs "
                       "CoppeliaSim + PyRep (docs/rlbench_backend.md)", choices=backend_choices())
    compression: Optional[str] = opt(
        "zstd", "shard compression: zstd (smallest and fast to read; other readers need `import "
        "hdf5plugin`), gzip (any HDF5 build reads it; ~1.1x the bytes, ~2x the read "
        "time), lzf, or none (fastest random reads, "
        "several times the bytes)", choices=["zstd", "gzip", "lzf", "none"], parse=lambda v: None if v == "none" else v)
    ray: Optional[str] = opt(None, "run the units as Ray tasks: 'auto' (this machine's cluster, "
                                   "else a local one) or a cluster address; --workers is then "
                                   "ignored", metavar="auto|ADDRESS")
    ray_timeout: float = opt(30.0, "seconds to wait for the Ray cluster at --ray to answer",
                             min=0.1, metavar="S")

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        d.pop("tessellation")
        d.update(self.view_settings())  # only when set: see ViewConfig.view_settings
        d["robotr1_version"] = __version__
        return d

    def shard_config(self) -> dict:
        """The settings stored in every shard: what determines its content, nothing about where
        or how it ran (output path, worker count, Ray address), so the same episodes give the
        same bytes on a laptop or a cluster, and a moved dataset still resumes."""
        return {k: v for k, v in self.to_json().items() if k not in EXECUTION_FIELDS}

    def validate(self) -> None:
        """Field checks that need no simulator or file system (``check`` adds those)."""
        check_bounds(self)
        self.validate_views()
        if not self.tasks:
            raise UsageError("--tasks needs at least one task name (robotr1-data list-tasks)")
        twice = sorted({t for t in self.tasks if self.tasks.count(t) > 1})
        if twice:
            raise UsageError(f"--tasks lists {', '.join(twice)} more than once; name each task once")
        if not str(self.out).strip():
            raise UsageError("--out is empty; name an output directory")
        if self.compression not in ("zstd", "gzip", "lzf", None):
            raise UsageError(f"unknown --compression {self.compression!r}; use zstd, gzip, lzf "
                             "or none")
        if self.ray is not None and not str(self.ray).strip():
            raise UsageError("--ray needs 'auto' or a cluster address such as "
                             "ray://head-node:10001 or head-node:6379")

    def check(self) -> None:
        self.validate()
        # Fail before any work starts: the backend's dependencies missing, or a task name it
        # does not know.
        backend = get_backend(self.backend)
        check_tessellation_backend(self.tessellation, backend)
        backend.require()
        backend.check_tasks(self.tasks)
        known = backend.known_cameras()
        if known is None:
            check_views(self.cameras, self.image_size)
        else:
            check_views(self.cameras, self.image_size, known=known)
        if self.ray not in (None, "auto"):
            check_ray_address(self.ray, self.ray_timeout)
        output_dir(self.out)


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


def _unit_complete(cfg: GenerateConfig, unit: Unit, listed: Dict[str, str]) -> bool:
    from robotr1_data.shards.resume import shard_complete
    # Older shards stored execution fields too; they never decide completeness.
    return shard_complete(Path(cfg.out) / unit.path, cfg.shard_config(), len(unit.episodes),
                          ignore=EXECUTION_FIELDS, expected_sha256=listed.get(unit.path))


def run_unit(cfg: GenerateConfig, unit: Unit, progress=None,
             stats: Optional[dict] = None) -> dict:
    """Record one unit's episodes into its shard; returns statistics for the summary.

    ``stats`` (filled in place) keeps the attempts and failures even when the unit raises, so
    a unit that exhausts --max-attempts is still counted."""
    from robotr1_data.record import AttemptLog

    log = AttemptLog()
    stats = {} if stats is None else stats
    stats.update({"task": unit.task, "shard": unit.path, "episodes": 0, "frames": 0,
                  "keypoints": 0, "seconds": 0.0, "attempts": 0, "failures": {}})
    t0 = time.perf_counter()
    try:
        _record_unit(cfg, unit, progress, stats, log)
    finally:
        stats["attempts"] = log.attempts
        stats["failures"] = dict(log.failures)
        stats["seconds"] = time.perf_counter() - t0
    return stats


def _record_unit(cfg: GenerateConfig, unit: Unit, progress, stats: dict, log) -> None:
    from robotr1_data.record import record_with_retries
    from robotr1_data.shards import ShardWriter

    def on_failure(task, episode, attempt, err):
        msg = f"  expert failed: {task} episode {episode} attempt {attempt + 1}: {err}"
        print(msg, file=sys.stderr, flush=True)

    path = Path(cfg.out) / unit.path
    path.parent.mkdir(parents=True, exist_ok=True)
    views = dict(cameras=cfg.cameras, image_size=tuple(cfg.image_size), rgb=cfg.rgb,
                 depth=cfg.depth, mask=cfg.mask, render_quality=cfg.render_quality)
    if cfg.tessellation is not None:  # only then: backends that render otherwise lack the option
        views["tessellation"] = tuple(cfg.tessellation)
    with get_backend(cfg.backend).demo_source(unit.task, image_every=cfg.image_every,
                                              **views) as source:
        count = source.variation_count()
        if cfg.variation is not None and not 0 <= cfg.variation < count:
            raise UsageError(f"task {unit.task} has {count} variations; --variation "
                             f"{cfg.variation} is out of range 0..{count - 1}")
        with ShardWriter(path, cfg.shard_config(), compression=cfg.compression) as writer:
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
            writer.set_attempt_stats(log.attempts, log.failures)


def _worker(args, progress=None):
    cfg, unit = args
    stats: dict = {}
    try:
        return run_unit(cfg, unit, progress=progress, stats=stats)
    except UsageError as exc:
        return {"task": unit.task, "shard": unit.path, "usage_error": str(exc)}
    except Exception as exc:  # report and go on: the other shards are still worth writing
        # Keep the attempts and failures: a unit that gave up is counted, not dropped.
        return dict(stats, task=unit.task, shard=unit.path, episodes=0, frames=0, keypoints=0,
                    error=f"{type(exc).__name__}: {exc}")


def generate(cfg: GenerateConfig, show_progress: bool = True) -> Dict[str, dict]:
    """Run the whole job; returns per-task statistics. Raises on any unit that failed."""
    cfg.check()
    if cfg.cameras and get_backend(cfg.backend).needs_gl:
        # Importing robotr1_data.backends.mujoco chose the GL platform (workers inherit
        # MUJOCO_GL); fail here, before any work, when none works.
        from robotr1_data.backends.mujoco.gl import check_rendering
        check_rendering()
    with OutputLock(cfg.out):
        removed = remove_partial_files(cfg.out)
        if removed:
            print(f"removed {removed} partial file(s) left by an interrupted run")
        return _generate_locked(cfg, show_progress)


def _generate_locked(cfg: GenerateConfig, show_progress: bool) -> Dict[str, dict]:
    from tqdm import tqdm

    from robotr1_data.shards import write_manifest

    from robotr1_data.shards.resume import listed_checksums

    units = plan_units(cfg)
    listed = listed_checksums(Path(cfg.out))
    todo = [u for u in units if not _unit_complete(cfg, u, listed)]
    skipped = len(units) - len(todo)
    if skipped:
        print(f"resuming: {skipped} of {len(units)} shards already complete")
    results: List[dict] = []
    total = sum(len(u.episodes) for u in todo)
    bar = tqdm(total=total, unit="demo", disable=not show_progress, file=sys.stderr)
    jobs = [(cfg, u) for u in todo]
    if cfg.ray is None and cfg.workers == 1:  # in this process: progress per episode
        results = run_jobs(lambda job: _worker(job, progress=lambda: bar.update(1)), jobs,
                           stop=_usage_error)
    else:
        # Recycle a worker after ~RECYCLE_EPISODES episodes (a safety net: bench/soak.py shows
        # flat memory), not after a fixed number of units: small units would pay the ~2 s
        # interpreter + MuJoCo start-up every few episodes.
        results = run_jobs(_worker, jobs, cfg.workers, ray=cfg.ray,
                           on_result=lambda res: bar.update(res.get("episodes", 0)),
                           # Ray: the same bad setting fails every unit, so stop at the first
                           stop=_usage_error if cfg.ray is not None else None,
                           max_tasks_per_child=max(1, RECYCLE_EPISODES // cfg.episodes_per_shard),
                           on_lost=_lost_unit)
    bar.close()
    usage = [r["usage_error"] for r in results if "usage_error" in r]
    if usage:
        raise UsageError(usage[0])
    errors = [r for r in results if "error" in r]
    entries = [Path(cfg.out) / u.path for u in units if (Path(cfg.out) / u.path).exists()]
    write_manifest(cfg.out, entries, config=cfg.to_json())
    per_task = save_summary(cfg.out, [r for r in results if "usage_error" not in r],
                            keep=[u.path for u in units])
    if errors:
        lines = "\n".join(f"  {r['shard']}: {r['error']}" for r in errors)
        raise GenerationError(f"{len(errors)} shard(s) failed (completed shards are kept; rerun "
                              f"the same command to retry only these):\n{lines}")
    return per_task


# --- job results --------------------------------------------------------------------------
def _usage_error(res: dict) -> bool:
    return "usage_error" in res


def _lost_unit(job, exc: BaseException) -> dict:
    """A Ray task that failed after its retries (a worker crash or lost node)."""
    unit = job[1]
    return {"task": unit.task, "shard": unit.path,
            "error": f"Ray task failed: {type(exc).__name__}: {exc}"}


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


def shard_stats(path: Path, task: str) -> dict:
    """A finished unit's statistics read back from its shard: episodes, frames and keypoints
    from the episodes, attempts and failures from the ``attempt_stats`` root attribute (shards
    from before it count attempts from the episodes and no failures)."""
    from robotr1_data.shards import ShardReader
    st = {"task": task, "episodes": 0, "frames": 0, "keypoints": 0, "attempts": 0,
          "failures": {}, "seconds": 0.0}
    with ShardReader(path) as r:
        attempts = 0
        for ep in r.episodes:
            a = r.attrs(ep)
            st["episodes"] += 1
            st["frames"] += int(a.get("length", 0))
            st["keypoints"] += len(r.low_dim(ep, "keypoints"))
            attempts += int(a.get("attempts", 1))
        raw = r.h5.attrs.get("attempt_stats")
    st["attempts"] = attempts
    if raw is not None:
        rec = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
        st["attempts"], st["failures"] = int(rec["attempts"]), dict(rec["failures"])
    return st


def save_summary(out: str, results: Sequence[dict], keep: Sequence[str]) -> Dict[str, dict]:
    """Write ``<out>/summary.json`` rebuilt from what is on disk and return the per-task totals
    over every unit of the dataset: each finished shard's own statistics (so a killed run, or
    a lost summary.json, loses nothing), plus this run's units that failed (their attempts and
    failures count too). Seconds come from this run or the previous summary."""
    path = Path(out) / "summary.json"
    old: Dict[str, dict] = {}
    try:
        old = json.loads(path.read_text()).get("shards", {}) or {}
    except (OSError, ValueError, AttributeError):
        pass
    now = {r["shard"]: r for r in results}
    units: Dict[str, dict] = {}
    for rel in keep:
        shard = Path(out) / rel
        task = rel.split("/", 1)[0]
        if shard.exists():
            try:
                st = shard_stats(shard, task)
            except Exception:  # unreadable: validate reports it; count what this run knows
                st = None
            if st is not None:
                prev = now.get(rel) or old.get(rel) or {}
                st["seconds"] = float(prev.get("seconds", 0.0)) if isinstance(prev, dict) else 0.0
                units[rel] = dict(st, shard=rel)
                continue
        if rel in now:
            units[rel] = now[rel]
    per_task = summarize(list(units.values()))
    from robotr1_data.files import atomic_write_text
    atomic_write_text(path, json.dumps({"tasks": per_task, "shards": units}, indent=2,
                                       sort_keys=True))
    return per_task
