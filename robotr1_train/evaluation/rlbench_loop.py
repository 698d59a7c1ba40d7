"""Closed-loop episodes on the RLBench backend (``eval-sim --backend rlbench``).

RLBench plans and executes each keypoint itself (EndEffectorPoseViaPlanning + a discrete
gripper, through ``RLBenchEvalEnv``), so this loop is the embedded one without our controller:
observe -> predict -> execute until success, an unreachable target, or the keypoint budget. The
record has the same fields as the MuJoCo loop's so reports and JSON are shared.
"""

from __future__ import annotations

import os
import time
from typing import List, Optional, Sequence

import numpy as np

from robotr1_data.errors import UsageError

# Policies that need the embedded simulator's internals (the expert's waypoints).
NEEDS_EMBEDDED = ("oracle",)
_ENVS: dict = {}  # one RLBench simulator per process (PyRep's rule), kept across units


def check_policy(spec: str) -> None:
    if spec.split(":", 1)[0] in NEEDS_EMBEDDED:
        raise UsageError(f"policy '{spec}' replays the embedded expert's waypoints, which RLBench "
                         "does not expose; use vlm:RUN_DIR, random or noop with --backend rlbench")


def _env(task: str, cameras: Sequence[str], image_size):
    from robotr1_data.sim.rlbench import RLBenchEvalEnv

    key = (task, tuple(cameras), tuple(image_size))
    if key not in _ENVS:
        for other in list(_ENVS.values()):
            other.close()
        _ENVS.clear()
        _ENVS[key] = RLBenchEvalEnv(task, cameras=tuple(cameras), image_size=tuple(image_size))
    return _ENVS[key]


def run_episode(env, policy, cfg, task: str, episode: int, label: str,
                video_dir: Optional[str] = None) -> dict:
    """One evaluation episode on RLBench; returns its JSON record, never raises for model output."""
    from robotr1_data.tasks.base import DOWN_QUAT
    from robotr1_train.evaluation.closed_loop import finish_record, new_record
    from robotr1_train.evaluation.seeds import eval_episode_seed
    from robotr1_train.policies.base import EpisodeContext, Observation, PolicyOutputError

    seed = eval_episode_seed(cfg.seed, task, episode)
    count = env.variation_count()
    variation = cfg.variation if cfg.variation is not None else episode % count
    t0 = time.perf_counter()
    rec = new_record(label, task, episode, variation, seed, backend="rlbench")
    outcome = {"success": False, "failed": False}
    frames: List[np.ndarray] = []
    try:
        descriptions, obs = env.reset(variation, seed)
        rec["description"] = descriptions[0] if descriptions else task.replace("_", " ")
        policy.reset(EpisodeContext(task, int(variation), list(descriptions), int(seed),
                                    np.random.default_rng([int(seed), 1]), DOWN_QUAT.copy(), []))
        for k in range(cfg.max_keypoints):
            if f"{cfg.camera}_rgb" in obs:
                frames.append(np.asarray(obs[f"{cfg.camera}_rgb"]))
            pose = np.asarray(obs["gripper_pose"], float)
            observation = Observation(
                task=task, variation=int(variation), description=rec["description"],
                state=pose[:3], gripper_open=bool(float(obs["gripper_open"]) > 0.5),
                images={c: obs[f"{c}_rgb"] for c in policy.cameras if f"{c}_rgb" in obs},
                tcp_pose=pose, keypoint_index=k,
                joint_positions=np.asarray(obs["joint_positions"], float))
            kp = {"index": k, "pred": None, "gripper_open": None, "true": None, "l1": None,
                  "text": None, "status": None, "steps": 1, "tracking_error": None}
            try:
                target = policy.predict(observation)
            except PolicyOutputError as err:
                kp.update(status=err.reason, text=err.text)
                rec["keypoints"].append(kp)
                rec["reason"], rec["detail"] = err.reason, err.detail
                break
            xyz = pose[:3] if target.hold else np.asarray(target.xyz, float)
            kp.update(pred=[round(float(v), 4) for v in xyz], gripper_open=target.gripper_open,
                      text=target.text, hold=bool(target.hold))
            if not np.all(np.isfinite(xyz)):
                kp["status"] = "unreachable"
                rec["keypoints"].append(kp)
                rec["reason"], rec["detail"] = "unreachable", "target is not finite"
                break
            if target.hold:  # stay put: nothing for RLBench's planner to do
                kp["status"] = "hold"
                rec["keypoints"].append(kp)
                continue
            obs, success, terminate, reason = env.execute(xyz, target.gripper_open, target.quat)
            rec["steps"] += 1
            kp["status"] = "unreachable" if reason else "reached"
            rec["keypoints"].append(kp)
            if reason:  # RLBench's InvalidActionError: the planner found no path
                rec["reason"], rec["detail"] = "unreachable", reason
                break
            if success or terminate:
                outcome["success"], outcome["failed"] = bool(success), not success
                break
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken episode must not end the evaluation
        rec["reason"], rec["detail"] = "error", f"{type(exc).__name__}: {exc}"
    return finish_record(rec, cfg, t0, outcome["success"], outcome["failed"], frames, video_dir,
                         max(1, cfg.video_fps // 10))  # one frame per keypoint: play it slower


def run_unit(cfg, policy, label: str, task: str, episodes: Sequence[int], progress=None) -> list:
    cameras = list(dict.fromkeys(list(policy.cameras) + [cfg.camera]))
    env = _env(task, cameras, cfg.image_size)
    video_dir = os.path.join(cfg.out, "videos") if cfg.video else None
    out = []
    for e in episodes:
        out.append(run_episode(env, policy, cfg, task, e, label, video_dir))
        if progress is not None:
            progress(out[-1])
    return out
