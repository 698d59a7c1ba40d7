"""Re-render stored episodes at another camera set or image size (keep the raw state,
derive the views).

Every frame's simulator state is in the shard (``sim_state``), and an episode's scene is a
function of (task, variation, seed) plus the recorded scene edits (``extra.model_overrides``).
So a fresh simulator reset with the episode's seed, the edits re-applied and each stored state
set back gives the very pixels a recording with the new settings would have produced: the
output shards are bit-identical to such a recording (tests/test_render.py checks this).

Images are rendered at every ``image_every``-th frame plus every keypoint and planner keypoint,
the recorder's own rule; ``image_every`` defaults to the source dataset's setting.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.episode import Episode, check_views
from robotr1_data.config import check_bounds, opt
from robotr1_data.errors import UsageError, output_dir
from robotr1_data.views import ViewConfig


@dataclasses.dataclass
class RenderConfig(ViewConfig):
    inherited_after = "out"  # the view flags (cameras ... tessellation) follow --out

    shards: List[str] = opt(help="shard files or dataset directories", positional=True,
                            default_factory=list, required=True, metavar="SHARDS")
    out: str = opt("", "output directory (same layout as the source, plus manifest.json)",
                   required=True)
    image_every: Optional[int] = opt(None, "images every K-th step and at keypoints (default: as "
                                           "recorded)", min=1, metavar="K")
    workers: int = opt(1, "render processes", min=1, max=1024)

    def validate(self) -> None:
        check_bounds(self)
        self.validate_views()
        if not self.shards:
            raise UsageError("name the shards to render: shard files or dataset directories")
        if not str(self.out).strip():
            raise UsageError("--out is empty; name an output directory")

    def check(self) -> None:
        self.validate()
        from robotr1_data.backends.mujoco.scene import scene_cameras
        check_views(self.cameras, self.image_size, known=scene_cameras())
        if not self.cameras:
            raise UsageError("render needs at least one camera (--cameras front ...)")
        if not (self.rgb or self.depth or self.mask):
            raise UsageError("nothing to render: --no-rgb, --no-depth and --no-mask all given")


class Renderer:
    """Holds one simulator per task (created on first use) and re-renders episodes with it."""

    def __init__(self, cfg: RenderConfig):
        self.cfg = cfg
        self._sims: Dict[str, object] = {}

    def sim(self, task: str):
        if task not in self._sims:
            from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
            from robotr1_data.tasks.registry import get_task
            c = self.cfg
            self._sims[task] = MujocoSim(get_task(task), cameras=c.cameras,
                                         image_size=tuple(c.image_size), rgb=c.rgb,
                                         depth=c.depth, mask=c.mask,
                                         render_quality=c.render_quality,
                                         tessellation=c.tessellation)
        return self._sims[task]

    def render(self, ep: Episode, image_every: int, where: str = "") -> Episode:
        """``ep`` with its images, camera parameters and mask names replaced by new renders."""
        backend = (ep.extra or {}).get("backend", "mujoco")
        if backend != "mujoco":
            raise UsageError(f"{where}: recorded with the '{backend}' backend; only MuJoCo "
                             "episodes can be re-rendered from their stored states")
        sim = self.sim(ep.task)
        state_size = sim.get_state().shape[0]
        if ep.sim_state.ndim != 2 or ep.sim_state.shape[1] != state_size:
            raise UsageError(f"{where}: sim_state has shape {ep.sim_state.shape} but the "
                             f"'{ep.task}' scene's state has {state_size} values (recorded with "
                             "another version of the task or robot?); regenerate it instead")
        # The scene of this episode: what reset with its seed builds, plus the recorded edits.
        sim.reset(ep.variation, np.random.default_rng(ep.seed))
        sim.apply_overrides((ep.extra or {}).get("model_overrides") or {})
        from robotr1_data.record import image_frames_for  # record imports the simulator
        frames = image_frames_for(ep.length, image_every, ep.keypoints, ep.planner_keypoints)
        shots: List[Dict[str, np.ndarray]] = []
        extr: Dict[str, List[np.ndarray]] = {}
        for i in frames:
            sim.set_state(ep.sim_state[i])
            shots.append(sim.render())
            for cam, p in sim.camera_parameters().items():
                extr.setdefault(cam, []).append(p["extrinsics"])
        params = sim.camera_parameters()
        return dataclasses.replace(
            ep,
            images={k: np.stack([s[k] for s in shots]) for k in shots[0]},
            image_frames=frames,
            camera_intrinsics={c: p["intrinsics"] for c, p in params.items()},
            camera_extrinsics={c: np.stack(v) for c, v in extr.items()},
            camera_near_far={c: (p["near"], p["far"]) for c, p in params.items()},
            mask_names=sim.mask_names(),
        )

    def close(self):
        for s in self._sims.values():
            s.close()
        self._sims.clear()


def find_inputs(paths: Sequence[str]) -> List[Tuple[Path, Path]]:
    """(shard, path relative to its dataset root) for each shard file or dataset directory."""
    from robotr1_data.shard_paths import find_shards
    return find_shards(paths)


def output_config(source: dict, cfg: RenderConfig, image_every: int) -> dict:
    """The source generator config with the new view settings: the config a recording made
    with these settings would carry."""
    c = dict(source)
    c.pop("tessellation", None)  # the source's, if any: the new renders use cfg's
    c.update(cfg.view_settings(), image_every=int(image_every))
    return c


def render_shard(cfg: RenderConfig, src: Path, dst: Path, renderer: Optional[Renderer] = None,
                 progress=None, expected_sha256: Optional[str] = None) -> dict:
    from robotr1_data.shards import ShardReader, ShardWriter
    from robotr1_data.shards.resume import shard_complete

    own = renderer is None
    renderer = renderer or Renderer(cfg)
    stats = {"shard": str(dst), "episodes": 0, "images": 0, "skipped": False}
    try:
        with ShardReader(src) as r:
            source = r.config
            k = cfg.image_every or int(source.get("image_every", 1) or 1)
            config = output_config(source, cfg, k)
            if shard_complete(dst, config, len(r.episodes), expected_sha256=expected_sha256):
                stats.update(skipped=True, episodes=len(r.episodes))
                return stats
            dst.parent.mkdir(parents=True, exist_ok=True)
            # The source's compression, so the output matches a recording made with its settings.
            with ShardWriter(dst, config, compression=config.get("compression", "zstd")) as w:
                for name in r.episodes:
                    ep = r.load(name, images=False)
                    new = renderer.render(ep, k, where=f"{src}: {name}")
                    w.add(new)
                    stats["episodes"] += 1
                    stats["images"] += len(new.image_frames)
                    if progress is not None:
                        progress()
                attempts = r.attempt_stats  # the recording's statistics travel with its episodes
                if attempts is not None:
                    w.set_attempt_stats(attempts.get("attempts", 0), attempts.get("failures", {}))
    finally:
        if own:
            renderer.close()
    return stats


def _render_job(args):
    cfg, src, dst, sha = args
    try:
        return render_shard(cfg, src, dst, expected_sha256=sha)
    except UsageError as exc:
        return {"shard": str(dst), "usage_error": str(exc)}


def render(cfg: RenderConfig, show_progress: bool = True) -> List[dict]:
    """Re-render every episode of ``cfg.shards`` into ``cfg.out`` (same relative paths), then
    write ``cfg.out/manifest.json``. Existing complete outputs are kept (a rerun resumes)."""
    from tqdm import tqdm

    from robotr1_data.files import OutputLock, remove_partial_files
    from robotr1_data.jobs import run_jobs
    from robotr1_data.shards import write_manifest
    from robotr1_data.backends.mujoco.gl import check_rendering

    cfg.check()
    inputs = find_inputs(cfg.shards)
    out = output_dir(cfg.out)
    for src, rel in inputs:
        if (out / rel).resolve() == src.resolve():
            raise UsageError(f"--out {out} would overwrite the input {src}; choose another --out")
    check_rendering()
    from robotr1_data.shards.resume import listed_checksums

    results: List[dict] = []
    with OutputLock(str(out)):
        remove_partial_files(str(out))
        listed = listed_checksums(out)  # a kept output must still match the manifest's sha256
        jobs = [(cfg, src, out / rel, listed.get(rel.as_posix())) for src, rel in inputs]
        if cfg.workers == 1:
            bar = tqdm(unit="episode", disable=not show_progress, file=sys.stderr)
            renderer = Renderer(cfg)  # one simulator per task for every shard
            try:
                results = run_jobs(lambda job: render_shard(job[0], job[1], job[2], renderer,
                                                            lambda: bar.update(1),
                                                            expected_sha256=job[3]), jobs)
            finally:
                renderer.close()
                bar.close()
        else:
            results = run_jobs(_render_job, jobs, cfg.workers)
            usage = [r["usage_error"] for r in results if "usage_error" in r]
            if usage:
                raise UsageError(usage[0])
        from robotr1_data.shards import ShardReader
        with ShardReader(jobs[0][2]) as r:
            config = dict(r.config, rendered_from=[str(s) for s in cfg.shards])
        write_manifest(out, [dst for _, _, dst, _ in jobs], config=config)
    return results
