"""An RLBench dataset_generator folder -> our HDF5 shards, without RLBench or CoppeliaSim.

Both of RLBench's dataset_generator layouts are read (docs/rlbench_io.md):

    <root>/<task>/variation<V>/variation_descriptions.pkl
    <root>/<task>/variation<V>/episodes/episode<E>/low_dim_obs.pkl
    <root>/<task>/all_variations/episodes/episode<E>/{low_dim_obs,variation_number,
                                                      variation_descriptions}.pkl
    .../episode<E>/<cam>_{rgb,depth,mask}/<i>.png

Pickles go through the restricted unpickler. Depth PNGs are decoded to metres with each frame's
``misc['<cam>_camera_near'/'_far']``; masks to their object handles; keypoints are computed by
the ARM/PerAct rule. Episodes that came from ``export-rlbench`` carry a ``robotr1`` record and
come back with the same arrays (mask ids, seed, planner keypoints, simulator states).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..episode import CAMERAS, Episode
from ..errors import UsageError, output_dir
from ..keypoints import discover_keypoints
from . import codec as C
from .classes import Demo, Observation
from .exporter import META_KEY, SIM_STATE_KEY, check_export_complete
from .unpickle import safe_load

_VARIATION_RE = re.compile(r"^variation(\d+)$")
_EPISODE_RE = re.compile(r"^episode(\d+)$")


def find_episodes(root: Path) -> List[Tuple[str, str, Optional[int], Path]]:
    """(task, layout, variation or None, episode dir) for every episode under ``root``, which
    is a folder of task folders or one task folder."""
    def task_dirs():
        if any(_VARIATION_RE.match(d.name) or d.name == C.VARIATIONS_ALL_FOLDER
               for d in root.iterdir() if d.is_dir()):
            return [root]
        return sorted(d for d in root.iterdir() if d.is_dir())

    found = []
    for task_dir in task_dirs():
        for vdir in sorted(d for d in task_dir.iterdir() if d.is_dir()):
            m = _VARIATION_RE.match(vdir.name)
            if m:
                layout, variation = "variation", int(m.group(1))
            elif vdir.name == C.VARIATIONS_ALL_FOLDER:
                layout, variation = "all_variations", None
            else:
                continue
            eps = vdir / C.EPISODES_FOLDER
            if not eps.is_dir():
                continue
            numbered = [(int(m.group(1)), d) for d in eps.iterdir()
                        if d.is_dir() and (m := _EPISODE_RE.match(d.name))]
            for _, d in sorted(numbered):
                found.append((task_dir.name, layout, variation, d))
    return found


def _descriptions(value, where: str) -> List[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
        raise UsageError(f"{where}: expected a list of description strings, got "
                         f"{type(value).__name__}")
    return list(value)


# Per-frame low-dim vectors (task state, simulator state) of any RLBench or robotr1 task hold
# tens to a few hundred values; a wider one is a memory bomb (T frames x width x 8 bytes).
MAX_LOW_DIM = 10_000


def _vector(value, what: str) -> np.ndarray:
    """A number, a numeric array or a flat list of numbers as a float64 vector of at most
    MAX_LOW_DIM values; anything else (a string, a dict, nested lists) is a UsageError naming
    the field."""
    size = np.size(value) if isinstance(value, np.ndarray) else (
        len(value) if isinstance(value, (list, tuple)) else 1)
    if size > MAX_LOW_DIM:
        raise UsageError(f"{what} has {size} values; an RLBench observation's low-dim fields hold "
                         f"at most {MAX_LOW_DIM} (the pickle is malformed or a memory bomb)")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise UsageError(f"{what} is an array of {value.dtype}; expected numbers")
        return value.astype(np.float64).reshape(-1)
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return np.array([float(value)])
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, (bool, int, float, np.number, np.bool_)) for v in value):
        return np.asarray(value, np.float64).reshape(-1)
    raise UsageError(f"{what} is a {type(value).__name__}; expected a number or a flat list/array "
                     "of numbers (the pickle is not an RLBench demo, or it is damaged)")


def _stack(obs: Sequence[Observation], field: str, width: Optional[int], where: str) -> np.ndarray:
    values = [getattr(o, field, None) for o in obs]
    if all(v is None for v in values):
        if width is None:
            return np.zeros((len(obs), 0))
        raise UsageError(f"{where}: observations have no '{field}'; it is required")
    if any(v is None for v in values):
        raise UsageError(f"{where}: '{field}' is missing in some observations")
    rows = [_vector(v, f"{where}: frame {i} '{field}'") for i, v in enumerate(values)]
    sizes = {r.shape[0] for r in rows}
    if len(sizes) != 1 or (width is not None and sizes != {width}):
        want = f"{width}" if width is not None else "one size"
        raise UsageError(f"{where}: '{field}' has sizes {sorted(sizes)} across frames, expected "
                         f"{want}")
    return np.stack(rows)


def _image_frames(ep_dir: Path, where: str) -> Tuple[Dict[str, Path], np.ndarray]:
    folders = {}
    for d in sorted(ep_dir.iterdir()):
        cam, _, kind = d.name.rpartition("_")
        if d.is_dir() and cam in CAMERAS and kind in C.IMAGE_KINDS:
            folders[d.name] = d
    sets = {}
    for name, d in folders.items():
        sets[name] = sorted(int(p.stem) for p in d.glob("*.png") if p.stem.isdigit())
    if not sets:
        return {}, np.zeros(0, np.int64)
    first = next(iter(sets.values()))
    for name, frames in sets.items():
        if frames != first:
            raise UsageError(f"{where}: {name} holds images for {len(frames)} frames but "
                             f"{next(iter(sets))} for {len(first)}; every camera folder must "
                             "cover the same frames")
    return folders, np.asarray(first, np.int64)


def load_episode(task: str, variation: Optional[int], ep_dir: Path,
                 descriptions: Optional[List[str]] = None) -> Episode:
    """One RLBench episode folder as an Episode; UsageError (one line, naming the folder) for
    anything in it of the wrong type or shape."""
    try:
        return _load_episode(task, variation, ep_dir, descriptions)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as e:
        # The specific checks above name most bad fields; this catches the rest (a misc entry,
        # the robotr1 record) that a damaged or hand-made pickle can hold.
        raise UsageError(f"{ep_dir}: a field in {C.LOW_DIM_PICKLE} or beside it has the wrong "
                         f"type or shape ({type(e).__name__}: {e}); the folder is not an "
                         "RLBench episode or it is damaged: re-copy or re-export it") from None


def _load_episode(task: str, variation: Optional[int], ep_dir: Path,
                  descriptions: Optional[List[str]] = None) -> Episode:
    where = str(ep_dir)
    demo = safe_load(ep_dir / C.LOW_DIM_PICKLE)
    if isinstance(demo, Demo):
        obs = getattr(demo, "_observations", None)
        if not isinstance(obs, (list, tuple)):
            raise UsageError(f"{where}/{C.LOW_DIM_PICKLE}: the Demo's _observations is "
                             f"{type(obs).__name__ if obs is not None else 'missing'}, expected a "
                             "list of RLBench Observations")
        obs = list(obs)
    elif isinstance(demo, (list, tuple)):
        obs = list(demo)
    else:
        raise UsageError(f"{where}/{C.LOW_DIM_PICKLE}: expected an RLBench Demo, got "
                         f"{type(demo).__name__}")
    if not obs or not all(isinstance(o, Observation) for o in obs):
        raise UsageError(f"{where}/{C.LOW_DIM_PICKLE}: the demo holds no RLBench Observations")
    T = len(obs)
    misc0 = obs[0].misc if isinstance(obs[0].misc, dict) else {}
    meta = misc0.get(META_KEY) if isinstance(misc0.get(META_KEY), dict) else None

    if (ep_dir / C.VARIATION_NUMBER).exists():
        variation = int(safe_load(ep_dir / C.VARIATION_NUMBER))
    if (ep_dir / C.VARIATION_DESCRIPTIONS).exists():
        descriptions = _descriptions(safe_load(ep_dir / C.VARIATION_DESCRIPTIONS), where)
    if variation is None:
        variation = misc0.get("variation_index")
    if variation is None:
        raise UsageError(f"{where}: no {C.VARIATION_NUMBER} and no misc['variation_index']; "
                         "cannot tell the variation")

    fields = {
        "joint_positions": _stack(obs, "joint_positions", 7, where),
        "joint_velocities": _stack(obs, "joint_velocities", 7, where),
        "gripper_pose": _stack(obs, "gripper_pose", 7, where),
        "gripper_open": _stack(obs, "gripper_open", 1, where)[:, 0],
        "gripper_joint_positions": _stack(obs, "gripper_joint_positions", 2, where),
        "task_low_dim_state": _stack(obs, "task_low_dim_state", None, where),
    }
    states = [o.misc.get(SIM_STATE_KEY) if isinstance(o.misc, dict) else None for o in obs]
    fields["sim_state"] = (
        np.stack([_vector(s, f"{where}: frame {i} misc['{SIM_STATE_KEY}'] (sim_state)")
                  for i, s in enumerate(states)])
        if all(s is not None for s in states) else np.zeros((T, 0)))

    folders, frames = _image_frames(ep_dir, where)
    if frames.size and (frames[0] < 0 or frames[-1] >= T):
        raise UsageError(f"{where}: image files go up to frame {int(frames[-1])} but the demo "
                         f"has {T} observations")
    offset = int(meta.get("mask_handle_offset", 0)) if meta else 0
    images: Dict[str, np.ndarray] = {}
    intr, extr, near_far = {}, {}, {}
    cams = sorted({name.rpartition("_")[0] for name in folders})
    for cam in cams:
        m = [obs[int(i)].misc if isinstance(obs[int(i)].misc, dict) else {} for i in frames]
        near = [x.get(f"{cam}_camera_near") for x in m]
        far = [x.get(f"{cam}_camera_far") for x in m]
        if f"{cam}_camera_intrinsics" in m[0]:
            intr[cam] = np.asarray(m[0][f"{cam}_camera_intrinsics"], np.float64)
        if all(f"{cam}_camera_extrinsics" in x for x in m):
            extr[cam] = np.stack([np.asarray(x[f"{cam}_camera_extrinsics"], np.float64)
                                  for x in m])
        if near[0] is not None and far[0] is not None:
            near_far[cam] = (float(near[0]), float(far[0]))
        for kind in C.IMAGE_KINDS:
            folder = folders.get(f"{cam}_{kind}")
            if folder is None:
                continue
            rows = []
            for n, i in enumerate(frames):
                img = C.read_png(folder / (C.IMAGE_FORMAT % int(i)))
                if kind == "rgb":
                    rows.append(img)
                elif kind == "depth":
                    if near[n] is None or far[n] is None:
                        raise UsageError(f"{where}: frame {int(i)} has no misc['{cam}_camera_near"
                                         f"'/'_far']; depth cannot be converted to metres")
                    rows.append(C.depth_from_png(img, float(near[n]), float(far[n])))
                else:
                    rows.append((C.handles_from_rgb(img) - offset).astype(np.int32))
            images[f"{cam}_{kind}"] = np.stack(rows)

    ignore = [getattr(o, "ignore_collisions", None) for o in obs]
    if meta is not None:
        extra = meta.get("extra")
        seed, attempts = int(meta.get("seed", -1)), int(meta.get("attempts", 1))
        success = bool(meta.get("success", True))
        planner = np.asarray(meta.get("planner_keypoints", []), np.int64)
        mask_names = list(meta.get("mask_names", []))
        task = meta.get("task", task)
    else:
        extra = {"backend": "rlbench", "source": "import-rlbench", "rlbench": {
            "episode_dir": str(ep_dir),
            "ignore_collisions": [float(np.asarray(v).reshape(-1)[0]) if v is not None else 0.0
                                  for v in ignore]}}
        seed, attempts, success = -1, 1, True  # dataset_generator keeps successful demos only
        planner = np.zeros(0, np.int64)
        mask_names = []
    return Episode(
        task=task, variation=int(variation), seed=seed, descriptions=list(descriptions or []),
        success=success, planner_keypoints=planner,
        keypoints=discover_keypoints(fields["joint_velocities"], fields["gripper_open"]),
        images=images, image_frames=frames if images else np.zeros(0, np.int64),
        camera_intrinsics=intr, camera_extrinsics=extr, camera_near_far=near_far,
        mask_names=mask_names, attempts=attempts, extra=extra, **fields)


def import_rlbench(root: str, out: str, tasks: Optional[Sequence[str]] = None,
                   episodes_per_shard: int = 25, log=print) -> dict:
    """Convert ``root`` into ``<out>/<task>/shard-NNNNN.h5`` plus ``<out>/manifest.json``."""
    from ..files import OutputLock, remove_partial_files
    from ..shards import ShardWriter, write_manifest

    from .. import __version__

    src = Path(root)
    if not src.is_dir():
        raise UsageError(f"'{src}' is not a directory; pass the folder that holds "
                         "<task>/variation<V>/ or <task>/all_variations/")
    if episodes_per_shard < 1:
        raise UsageError(f"--episodes-per-shard must be at least 1 (got {episodes_per_shard})")
    check_export_complete(src)  # never import a killed export-rlbench's first episodes silently
    found = find_episodes(src)
    if tasks:
        names = {t for t, *_ in found}
        missing = [t for t in tasks if t not in names]
        if missing:
            raise UsageError(f"no task(s) {missing} in {src}; found: {', '.join(sorted(names))}")
        found = [f for f in found if f[0] in tasks]
    if not found:
        raise UsageError(f"no RLBench episodes under {src}: expected <task>/variation<V>/episodes/"
                         f"episode<E>/{C.LOW_DIM_PICKLE} or <task>/all_variations/episodes/...")
    layouts = sorted({f[1] for f in found})
    dst = output_dir(out)
    config = {"source": "import-rlbench", "root": str(src), "layout": "+".join(layouts),
              "tasks": sorted({f[0] for f in found}), "episodes_per_shard": episodes_per_shard,
              "robotr1_version": __version__}
    by_task: Dict[str, list] = {}
    for task, layout, variation, ep_dir in found:
        by_task.setdefault(task, []).append((variation, ep_dir))
    shards, counts = [], {}
    desc_cache: Dict[Path, List[str]] = {}
    with OutputLock(str(dst)):
        remove_partial_files(str(dst))
        for task, eps in by_task.items():
            (dst / task).mkdir(parents=True, exist_ok=True)
            for s, start in enumerate(range(0, len(eps), episodes_per_shard)):
                path = dst / task / f"shard-{s:05d}.h5"
                with ShardWriter(path, dict(config, task=task)) as w:
                    for variation, ep_dir in eps[start:start + episodes_per_shard]:
                        descriptions = None
                        vfile = ep_dir.parent.parent / C.VARIATION_DESCRIPTIONS
                        if variation is not None and vfile.exists():
                            if vfile not in desc_cache:
                                desc_cache[vfile] = _descriptions(safe_load(vfile), str(vfile))
                            descriptions = desc_cache[vfile]
                        w.add(load_episode(task, variation, ep_dir, descriptions))
                        counts[task] = counts.get(task, 0) + 1
                shards.append(path)
        write_manifest(dst, shards, config=config)
    return {"episodes": counts, "layout": "+".join(layouts), "shards": len(shards)}
