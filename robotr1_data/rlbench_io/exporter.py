"""Our shards -> RLBench's dataset_generator layout, so RLBench-data loaders read our demos.

    <out>/<task>/variation<V>/variation_descriptions.pkl
    <out>/<task>/variation<V>/episodes/episode<E>/{low_dim_obs,
                                                   variation_descriptions}.pkl  (layout "variation")
    <out>/<task>/all_variations/episodes/episode<E>/{low_dim_obs,variation_number,
                                                     variation_descriptions}.pkl  ("all_variations")
    .../episode<E>/<cam>_{rgb,depth,mask}/<i>.png

``low_dim_obs.pkl`` is a ``rlbench.demo.Demo`` of ``rlbench.backend.observation.Observation``
with the image fields None, as upstream. What RLBench has and we do not record is None
(``joint_forces``, ``gripper_touch_forces``); ``gripper_matrix`` is computed from the pose.
What we have and RLBench does not travels in ``misc`` (extra keys are ignored by loaders):
``robotr1_sim_state`` per frame (unless ``sim_state=False``) and, on the first observation,
``robotr1`` with the episode's seed, attempts, planner keypoints, image frames, mask names and
``extra`` -- enough for ``import-rlbench`` to give back the same arrays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..episode import Episode
from ..errors import UsageError, output_dir
from . import codec as C
from ..files import atomic_write_text, temp_path
from .classes import Demo, Observation
from .unpickle import dump_rlbench

LAYOUTS = ("variation", "all_variations")
META_KEY = "robotr1"
SIM_STATE_KEY = "robotr1_sim_state"


def pose_to_matrix(pose: np.ndarray) -> np.ndarray:
    """x, y, z, qx, qy, qz, qw -> 4x4 homogeneous matrix (RLBench's gripper_matrix)."""
    x, y, z, qx, qy, qz, qw = (float(v) for v in pose)
    n = qx * qx + qy * qy + qz * qz + qw * qw
    s = 2.0 / n if n > 0 else 0.0
    m = np.eye(4)
    m[:3, :3] = [
        [1 - s * (qy * qy + qz * qz), s * (qx * qy - qz * qw), s * (qx * qz + qy * qw)],
        [s * (qx * qy + qz * qw), 1 - s * (qx * qx + qz * qz), s * (qy * qz - qx * qw)],
        [s * (qx * qz - qy * qw), s * (qy * qz + qx * qw), 1 - s * (qx * qx + qy * qy)],
    ]
    m[:3, 3] = (x, y, z)
    return m


def _meta(ep: Episode) -> dict:
    return {"task": ep.task, "seed": int(ep.seed), "attempts": int(ep.attempts),
            "success": bool(ep.success), "extra": ep.extra,
            "planner_keypoints": [int(k) for k in ep.planner_keypoints],
            "image_frames": [int(k) for k in ep.image_frames],
            "mask_names": list(ep.mask_names), "mask_handle_offset": C.MASK_HANDLE_OFFSET,
            "format": "robotr1 export-rlbench 1"}


def episode_to_demo(ep: Episode, sim_state: bool = True) -> Demo:
    """One Episode as an RLBench Demo (image fields None; images go to PNG folders)."""
    rows = {int(f): n for n, f in enumerate(ep.image_frames)}
    ignore = ((ep.extra or {}).get("rlbench") or {}).get("ignore_collisions")
    cams = sorted(set(ep.camera_intrinsics) | set(ep.camera_extrinsics) | set(ep.camera_near_far))
    obs: List[Observation] = []
    for i in range(ep.length):
        misc: Dict[str, object] = {}
        n = rows.get(i)
        for cam in cams:
            if cam in ep.camera_intrinsics:
                misc[f"{cam}_camera_intrinsics"] = np.asarray(ep.camera_intrinsics[cam], np.float64)
            if cam in ep.camera_extrinsics and n is not None:
                e = np.asarray(ep.camera_extrinsics[cam], np.float64)
                misc[f"{cam}_camera_extrinsics"] = e[n] if e.ndim == 3 else e
            if cam in ep.camera_near_far:
                misc[f"{cam}_camera_near"] = float(ep.camera_near_far[cam][0])
                misc[f"{cam}_camera_far"] = float(ep.camera_near_far[cam][1])
        misc["variation_index"] = int(ep.variation)
        if sim_state and ep.sim_state.shape[1]:
            misc[SIM_STATE_KEY] = np.asarray(ep.sim_state[i], np.float64)
        if i == 0:
            misc[META_KEY] = _meta(ep)
        pose = np.asarray(ep.gripper_pose[i], np.float64)
        obs.append(Observation(
            joint_velocities=np.asarray(ep.joint_velocities[i], np.float64),
            joint_positions=np.asarray(ep.joint_positions[i], np.float64),
            joint_forces=None,
            gripper_open=float(ep.gripper_open[i]),
            gripper_pose=pose,
            gripper_matrix=pose_to_matrix(pose),
            gripper_joint_positions=np.asarray(ep.gripper_joint_positions[i], np.float64),
            gripper_touch_forces=None,
            task_low_dim_state=np.asarray(ep.task_low_dim_state[i], np.float64),
            ignore_collisions=np.array(float(ignore[i]) if ignore is not None else 0.0),
            misc=misc,
        ))
    return Demo(obs, random_seed=None)


def write_episode_images(ep: Episode, episode_dir: Path) -> int:
    """The PNG folders of one episode; returns the number of files written."""
    n_files = 0
    for key, images in sorted(ep.images.items()):
        cam, _, kind = key.rpartition("_")
        folder = episode_dir / f"{cam}_{kind}"
        folder.mkdir(parents=True, exist_ok=True)
        near, far = ep.camera_near_far.get(cam, (None, None))
        for row, frame in enumerate(ep.image_frames):
            img = images[row]
            if kind == "rgb":
                png = img
            elif kind == "depth":
                if near is None:
                    raise UsageError(f"{ep.task}: {cam} has depth but no near/far planes; "
                                     "cannot normalise it for the RLBench depth encoding")
                png = C.depth_to_png(img, near, far)
            else:
                png = C.handles_to_rgb(np.asarray(img, np.int64) + C.MASK_HANDLE_OFFSET)
            C.write_png(folder / (C.IMAGE_FORMAT % int(frame)), png)
            n_files += 1
    return n_files


RECORD_NAME = "robotr1_export.json"


def _plan(shards: Sequence[str], layout: str) -> List[dict]:
    """Every episode to export, in order, with its folder: read from attributes only, so the
    completeness record can list the whole export before any pixels are written."""
    from ..render import find_inputs
    from ..shards import ShardReader
    counters: Dict[Tuple[str, Optional[int]], int] = {}
    plan = []
    for src, _ in find_inputs(shards):
        with ShardReader(src) as r:
            for name in r.episodes:
                try:
                    a = r.attrs(name)
                    task, variation = str(a["task"]), int(a["variation"])
                except (KeyError, ValueError, TypeError, OSError) as e:
                    raise UsageError(f"{src}: {name}: attributes task/variation unreadable "
                                     f"({type(e).__name__}: {e}); validate and regenerate the "
                                     "shard") from None
                key = (task, variation if layout == "variation" else None)
                e = counters.get(key, 0)
                counters[key] = e + 1
                folder = (C.VARIATIONS_FOLDER % variation if layout == "variation"
                          else C.VARIATIONS_ALL_FOLDER)
                plan.append({"src": src, "name": name, "task": task, "variation": variation,
                             "dir": f"{task}/{folder}/{C.EPISODES_FOLDER}/{C.EPISODE_FOLDER % e}"})
    return plan


def _record(shards: Sequence[str], layout: str, sim_state: bool, plan: List[dict],
            complete: bool) -> dict:
    from .. import __version__
    return {"format": "robotr1 export-rlbench 1", "complete": complete, "layout": layout,
            "sim_state": bool(sim_state), "sources": [str(s) for s in shards],
            "episodes": [p["dir"] for p in plan], "robotr1_version": __version__}


def _check_resumable(root: Path, want: dict) -> bool:
    """True when ``root`` holds an earlier run of this very export (resume it); False when it
    holds no export record. UsageError for another export's output."""
    path = root / RECORD_NAME
    if not path.exists():
        return False
    try:
        have = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"{path} is unreadable ({e}); export into an empty --out") from None
    if not isinstance(have, dict):
        raise UsageError(f"{path} is not an export record; export into an empty --out")
    diff = [k for k in ("layout", "sim_state", "sources", "episodes") if have.get(k) != want[k]]
    if diff:
        flags = {"layout": "--layout", "sim_state": "--no-sim-state", "sources": "SHARDS",
                 "episodes": "the shards' episodes"}
        raise UsageError(f"{root} holds another export (different {', '.join(flags[k] for k in diff)}"
                         "); rerun with the original arguments to resume it, or export into an "
                         "empty --out")
    return True


def export_rlbench(shards: Sequence[str], out: str, layout: str = "variation",
                   sim_state: bool = True, log=print) -> dict:
    """Write every episode of ``shards`` (files or dataset directories) under ``out`` in the
    RLBench layout. Episodes are numbered in the order found, per (task, variation) folder for
    "variation" and per task for "all_variations".

    ``<out>/robotr1_export.json`` records the whole export (settings and every episode folder)
    with ``complete: false`` before anything is written and ``true`` after the last episode, so
    a rerun of the same command after a kill resumes (episode folders holding their
    ``low_dim_obs.pkl``, written last, are kept; half-written ones are rewritten) and
    ``import-rlbench`` refuses a partial export. Episode folders this export did not make are
    never written into."""
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout '{layout}'; choose one of {', '.join(LAYOUTS)}")
    from ..files import OutputLock, remove_partial_files
    from ..shards import ShardReader

    root = output_dir(out)
    plan = _plan(shards, layout)
    record = _record(shards, layout, sim_state, plan, complete=False)
    with OutputLock(str(root)):
        resuming = _check_resumable(root, record)
        if not resuming:
            for p in plan:
                if (root / p["dir"]).exists():
                    raise UsageError(f"{root / p['dir']} already exists; export into an empty "
                                     "--out directory")
        remove_partial_files(str(root))
        atomic_write_text(root / RECORD_NAME, json.dumps(record, indent=2) + "\n")
        descriptions: Dict[Tuple[str, int], List[str]] = {}
        partial = kept = n = 0
        readers: Dict[Path, object] = {}
        try:
            for p in plan:
                r = readers.get(p["src"])
                if r is None:
                    for old in readers.values():
                        old.close()
                    readers = {p["src"]: ShardReader(p["src"])}
                    r = readers[p["src"]]
                where = f"{p['src']}: {p['name']}"
                ep_dir = root / p["dir"]
                done = (ep_dir / C.LOW_DIM_PICKLE).exists()
                ep = r.load(p["name"], images=not done)
                var_dir = ep_dir.parent.parent
                if layout == "variation":
                    prev = descriptions.setdefault((ep.task, ep.variation), list(ep.descriptions))
                    if prev != list(ep.descriptions):
                        raise UsageError(f"{where}: descriptions differ from other episodes of "
                                         f"variation {ep.variation}; export with --layout "
                                         "all_variations")
                if len(ep.image_frames) and len(ep.image_frames) < ep.length:
                    partial += 1
                n += 1
                if done:  # written completely by the killed run: the pickle comes last
                    kept += 1
                    continue
                ep_dir.mkdir(parents=True, exist_ok=True)
                if layout == "variation":
                    dump_rlbench(list(ep.descriptions), var_dir / C.VARIATION_DESCRIPTIONS)
                    # PerAct's RLBench fork reads the descriptions from the episode folder (it
                    # would otherwise train on "unknown task description"), upstream from the
                    # variation one.
                    dump_rlbench(list(ep.descriptions), ep_dir / C.VARIATION_DESCRIPTIONS)
                else:
                    dump_rlbench(int(ep.variation), ep_dir / C.VARIATION_NUMBER)
                    dump_rlbench(list(ep.descriptions), ep_dir / C.VARIATION_DESCRIPTIONS)
                write_episode_images(ep, ep_dir)
                # The pickle last: an episode folder with low_dim_obs.pkl is complete.
                tmp = temp_path(ep_dir / C.LOW_DIM_PICKLE)
                dump_rlbench(episode_to_demo(ep, sim_state=sim_state), tmp)
                os.replace(tmp, ep_dir / C.LOW_DIM_PICKLE)
        finally:
            for old in readers.values():
                old.close()
        record["complete"] = True
        atomic_write_text(root / RECORD_NAME, json.dumps(record, indent=2) + "\n")
    warnings = []
    if partial:
        warnings.append(f"{partial} episode(s) have images at only some frames (recorded with "
                        "--image-every > 1); RLBench loaders expect a PNG per frame: re-render "
                        "first with `robotr1-data render SHARDS --image-every 1 --out DIR`")
    return {"episodes": n, "kept": kept, "layout": layout, "warnings": warnings}


def check_export_complete(root: Path) -> None:
    """For ``import-rlbench``: refuse, in one line, a folder that ``export-rlbench`` has not
    finished (its record says incomplete, or an episode it lists lacks its pickle). ``root`` may
    be the export's root or one task folder in it; folders without a record pass."""
    for base in (root, root.parent):
        path = base / RECORD_NAME
        if not path.is_file():
            continue
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UsageError(f"{path} is unreadable ({e}); rerun the export-rlbench command that "
                             "wrote it") from None
        eps = rec.get("episodes") if isinstance(rec, dict) else None
        if not isinstance(eps, list):
            raise UsageError(f"{path} is not an export-rlbench record; rerun the export")
        if base != root:
            eps = [e for e in eps if isinstance(e, str) and e.split("/", 1)[0] == root.name]
        missing = [e for e in eps if not (base / str(e) / C.LOW_DIM_PICKLE).is_file()]
        if rec.get("complete") is not True or missing:
            what = (f"{len(eps) - len(missing)} of {len(eps)} episodes written"
                    + (f", missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3
                                                                 else "") if missing else ""))
            raise UsageError(f"{base} is a partial export ({what}); rerun the same "
                             "export-rlbench command to finish it, then import")
        return
