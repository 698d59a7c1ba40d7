"""Closed-loop evaluation in the simulator (``robotr1-train eval-sim``).

Per episode: reset the task with an evaluation seed (``seeds.eval_episode_seed``, disjoint from the
training stream), then loop observe -> ``policy.predict`` -> ``controller.execute`` until the
task's success conditions hold, a failure condition fires, the policy's output is unusable, or the
keypoint budget (``max_keypoints``, PerAct's 25 by default) runs out. Success and failure
conditions are checked after every 0.05 s control step.

Failure reasons (counted, never raised):

- ``unparseable``: the policy gave no usable answer (a VLM without ``<answer> [x, y, z] </answer>``);
- ``unreachable``: the target is non-finite, outside the workspace box (+ ``range_margin``), or IK
  cannot reach it;
- ``timeout``: the keypoint budget ran out without success;
- ``fail_condition``: the task's failure condition fired;
- ``error``: anything else went wrong inside the episode (message kept in ``detail``).

Work is split into units of (policy, task, episodes); each episode's seed and variation depend only
on (seed, task, episode), so results do not depend on ``workers``. Workers are spawned processes,
as in ``robotr1-data generate``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import multiprocessing as mp
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.config import check_bounds, comma_list, opt
from robotr1_data.errors import UsageError, output_dir

FAILURE_REASONS = ("unparseable", "unreachable", "timeout", "fail_condition", "error")
RESULTS_FILE = "results.json"
RESULTS_VERSION = 1


def backend_names() -> Sequence[str]:
    """The simulators eval-sim can run in (read when the parser is built)."""
    return ("mujoco", "rlbench")


def _engines() -> Sequence[str]:
    from robotr1_train.engines import ENGINES

    return ENGINES


def _task_list(values) -> List[str]:
    out = comma_list(values) or []
    return [] if out == ["all"] else out


@dataclasses.dataclass
class EvalSimConfig:
    """Settings of one ``eval-sim`` run (each field is a flag; stored in ``OUT/results.json``)."""

    policies: List[str] = opt(
        help="vlm:RUN_DIR, oracle, random or noop; repeat (or list several) to compare them in one "
             "report", default_factory=lambda: ["oracle"], flag="--policy", metavar="SPEC",
        repeat=True, required=True)
    tasks: List[str] = opt(help="task names (space or comma separated) or 'all' (default: all)",
                           default_factory=list, metavar="TASK", parse=_task_list)
    episodes: int = opt(10, "episodes per task (variations cycle)", min=1)
    seed: int = opt(0, "evaluation seed (its own stream, disjoint from training)", min=0)
    out: str = opt("eval", "output directory (results.json, report.md, success.png, videos/)",
                   required=True)
    variation: Optional[int] = opt(None, "evaluate one variation only (default: episode e gets "
                                   "variation e % count)", min=0)
    max_keypoints: int = opt(25, "keypoint budget per episode", min=1)
    max_steps_per_keypoint: int = opt(120, "control steps (0.05 s) per keypoint", min=1)
    workers: int = opt(1, "parallel simulator processes", min=1)
    camera: str = opt("front", "the view the VLM sees and the videos show")
    image_size: Tuple[int, int] = opt((224, 224), "height and width of the rendered view (VLM "
                                      "input, videos)", metavar=("H", "W"))
    video: bool = opt(True, "skip the per-episode videos (faster, no GL needed)")
    video_every: int = opt(1, "keep every n-th control step in the videos", min=1)
    video_fps: int = opt(20, "frames per second of the videos", min=1)
    range_margin: float = opt(0.05, "metres beyond the workspace box still accepted as a target",
                              min=0)
    train_data: List[str] = opt(help="training shards (files or directories) to check the eval "
                                "seeds against; repeatable", default_factory=list,
                                metavar="DIR", repeat=True)
    max_new_tokens: int = opt(256, "vlm: answer length limit in tokens", min=1)
    vlm_gripper: str = opt("auto", "vlm: auto (an answer at the current position toggles the "
                           "gripper) or keep (never changes it)", choices=("auto", "keep"))
    do_sample: bool = opt(False, "vlm: sample instead of greedy decoding")
    temperature: float = opt(1.0, "vlm: sampling temperature (with --do-sample)", min=0)
    device: Optional[str] = opt(None, "vlm, hf engine: cuda, cpu, ... (default: cuda when "
                                "available)")
    engine: str = opt("hf", "vlm generation engine: hf (transformers generate), vllm (needs CUDA "
                      "and vllm), auto (vllm when it can run here, else hf); the prompts are the "
                      "same", choices=_engines)
    show_progress: bool = opt(True, "no per-episode lines", flag="--quiet")
    backend: str = opt("mujoco", "simulator; rlbench: RLBench's own tasks in CoppeliaSim (needs "
                       "PyRep; see docs/rlbench_backend.md)", choices=backend_names)

    def validate(self) -> None:
        """Field checks that need no simulator, model or file system (``check`` adds those)."""
        check_bounds(self)
        if not self.policies:
            raise UsageError("no --policy given; use vlm:RUN_DIR, oracle, random or noop")
        self.image_size = tuple(self.image_size)  # type: ignore[assignment]

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    def resolved_tasks(self) -> List[str]:
        from robotr1_data.tasks.registry import get_task, task_names

        if self.backend == "rlbench":
            from robotr1_data.sim.rlbench import require_rlbench, resolve_task_class

            if not self.tasks or self.tasks == ["all"]:
                raise UsageError("name the tasks to evaluate with --backend rlbench (--tasks ...)")
            require_rlbench()
            for t in self.tasks:
                resolve_task_class(t)
            return list(self.tasks)
        names = list(self.tasks) if self.tasks and self.tasks != ["all"] else task_names()
        for t in names:
            get_task(t)
        return names

    def check(self) -> None:
        from robotr1_train.policies import parse_policy_spec

        self.validate()
        if self.backend not in ("mujoco", "rlbench"):
            raise UsageError(f"unknown backend '{self.backend}'; choose mujoco or rlbench")
        for p in self.policies:
            parse_policy_spec(p)
            if self.backend == "rlbench":
                from robotr1_train.evaluation.rlbench_loop import check_policy

                check_policy(p)
        from robotr1_data.episode import check_views

        check_views([self.camera], self.image_size)
        if self.vlm_gripper not in ("auto", "keep"):
            raise UsageError(f"--vlm-gripper must be auto or keep (got '{self.vlm_gripper}')")
        if any(parse_policy_spec(p)[0] == "vlm" for p in self.policies):
            from robotr1_train.engines import check_decoding

            check_decoding(self.max_new_tokens, self.temperature, self.do_sample, self.engine)
        output_dir(self.out)

    def vlm_options(self) -> dict:
        return dict(camera=self.camera, image_size=tuple(self.image_size), max_new_tokens=self.max_new_tokens,
                    gripper=self.vlm_gripper, do_sample=self.do_sample, temperature=self.temperature,
                    device=self.device, engine=self.engine)


# --------------------------------------------------------------------------------------------
# one episode

def _finite_in_box(xyz: np.ndarray, margin: float) -> Optional[str]:
    from robotr1_data.qa.distractors import Workspace

    if not np.all(np.isfinite(xyz)):
        return "target is not finite"
    box = Workspace()
    lo, hi = np.asarray(box.low) - margin, np.asarray(box.high) + margin
    if np.any(xyz < lo) or np.any(xyz > hi):
        return (f"target {np.round(xyz, 3).tolist()} outside the workspace "
                f"{np.round(lo, 3).tolist()}..{np.round(hi, 3).tolist()}")
    return None


def _xyz(v) -> Optional[List[float]]:
    return None if v is None else [round(float(x), 4) for x in v]


def run_episode(sim, controller, policy, cfg: EvalSimConfig, task: str, episode: int,
                label: str, video_dir: Optional[str] = None) -> dict:
    """Run one evaluation episode; returns its JSON record. Never raises for policy output."""
    from robotr1_train.evaluation.seeds import eval_episode_seed
    from robotr1_train.evaluation.video import EpisodeVideo
    from robotr1_train.policies.base import EpisodeContext, Observation, PolicyOutputError

    seed = eval_episode_seed(cfg.seed, task, episode)
    count = sim.task.variation_count()
    if cfg.variation is not None and not 0 <= cfg.variation < count:
        raise UsageError(f"--variation {cfg.variation} is out of range for {task} (0..{count - 1}); "
                         "pick one in range or leave --variation out to cycle through all")
    variation = cfg.variation if cfg.variation is not None else episode % count
    t0 = time.perf_counter()
    rec = new_record(label, task, episode, variation, seed)
    video = EpisodeVideo(cfg.camera, cfg.video_every) if video_dir else None
    outcome = {"success": False, "failed": False}
    state = {"progress": 0, "pred": None}
    try:
        descriptions = sim.reset(variation, np.random.default_rng(seed))
        rec["description"] = descriptions[0] if descriptions else task.replace("_", " ")
        waypoints = copy.deepcopy(list(sim.task.waypoints))
        rec["expert_keypoints"] = len(waypoints)
        policy.reset(EpisodeContext(task, int(variation), list(descriptions), int(seed),
                                    np.random.default_rng([int(seed), 1]), controller.default_quat(),
                                    waypoints))

        def true_xyz():
            p = state["progress"]
            return np.asarray(waypoints[p].pos, float) if p < len(waypoints) else None

        def caption():
            return f"{label} {task} v{variation} kp {len(rec['keypoints'])}"

        def on_step() -> bool:
            rec["steps"] += 1
            if video is not None:
                video.maybe_add(sim, state["pred"], true_xyz(), caption())
            if sim.task.success()[0]:
                outcome["success"] = True
                return True
            if sim.task.failed():
                outcome["failed"] = True
                return True
            return False

        for k in range(cfg.max_keypoints):
            rendered = {}
            if policy.cameras or (video is not None and k == 0):
                if video is not None and k == 0:
                    rendered = video.maybe_add(sim, None, true_xyz(), caption(), force=True) or {}
                if policy.cameras and not all(f"{c}_rgb" in rendered for c in policy.cameras):
                    rendered = sim.render()
            obs = Observation(task=task, variation=int(variation), description=rec["description"],
                              state=sim.tcp_position(), gripper_open=controller.gripper_open,
                              images={c: rendered[f"{c}_rgb"] for c in policy.cameras if f"{c}_rgb" in rendered},
                              tcp_pose=sim.tcp_pose(), keypoint_index=k,
                              joint_positions=np.asarray(sim.arm_target, float).copy())
            truth = true_xyz()
            kp = {"index": k, "pred": None, "gripper_open": None, "true": _xyz(truth), "l1": None,
                  "text": None, "status": None, "steps": 0, "tracking_error": None}
            try:
                target = policy.predict(obs)
            except PolicyOutputError as err:
                kp.update(status=err.reason, text=err.text)
                rec["keypoints"].append(kp)
                rec["reason"], rec["detail"] = err.reason, err.detail
                break
            kp.update(pred=_xyz(target.xyz), gripper_open=target.gripper_open, text=target.text,
                      hold=bool(target.hold))
            if target.quat is not None:
                kp["quat"] = _xyz(target.quat)
            if truth is not None and np.all(np.isfinite(target.xyz)):
                kp["l1"] = round(float(np.abs(target.xyz - truth).sum()), 5)
            bad = None if target.hold else _finite_in_box(target.xyz, cfg.range_margin)
            if bad:
                kp["status"] = "unreachable"
                rec["keypoints"].append(kp)
                rec["reason"], rec["detail"] = "unreachable", bad
                break
            state["pred"] = None if target.hold else target.xyz
            res = controller.execute(target, on_step)
            kp.update(status=res.status, steps=res.steps, tracking_error=round(res.tracking_error, 5))
            rec["keypoints"].append(kp)
            if res.status == "unreachable":
                rec["reason"], rec["detail"] = "unreachable", res.detail
                break
            p = state["progress"]
            if p < len(waypoints) and np.linalg.norm(sim.tcp_position() - np.asarray(waypoints[p].pos)) \
                    <= controller.expert.tolerance:
                state["progress"] = p + 1
            if outcome["success"] or outcome["failed"]:
                break
    except Exception as exc:  # noqa: BLE001 - one broken episode must not end the evaluation
        rec["reason"], rec["detail"] = "error", f"{type(exc).__name__}: {exc}"
    frames = video.frames if video is not None else None
    return finish_record(rec, cfg, t0, outcome["success"], outcome["failed"], frames, video_dir,
                         cfg.video_fps)


def new_record(label: str, task: str, episode: int, variation: int, seed: int, **extra) -> dict:
    """An episode's JSON record before it runs (shared by the MuJoCo and RLBench loops)."""
    return dict({"policy": label, "task": task, "episode": int(episode), "variation": int(variation),
                 "seed": int(seed), "description": "", "success": False, "reason": None,
                 "detail": "", "keypoints_used": 0, "steps": 0, "expert_keypoints": 0,
                 "keypoints": [], "video": None}, **extra)


def finish_record(rec: dict, cfg, t0: float, success: bool, failed: bool, frames, video_dir,
                  fps: int) -> dict:
    """Settle the outcome (success, else the first failure, else fail condition or timeout) and
    write the episode's video."""
    from robotr1_train.evaluation.video import write_video

    rec["keypoints_used"] = len(rec["keypoints"])
    if success:
        rec["success"], rec["reason"], rec["detail"] = True, None, ""
    elif failed and rec["reason"] is None:
        rec["reason"] = "fail_condition"
    elif rec["reason"] is None:
        rec["reason"] = "timeout"
        rec["detail"] = f"no success within {cfg.max_keypoints} keypoints"
    if video_dir and frames:
        try:
            stem = os.path.join(video_dir, rec["policy"], rec["task"],
                                f"ep{rec['episode']:04d}_v{rec['variation']}")
            path = write_video(stem, frames, fps)
            rec["video"] = os.path.relpath(path, cfg.out) if path else None
        except Exception as exc:  # noqa: BLE001 - a missing video is not worth the results
            rec["detail"] = (rec["detail"] + f"; video not written ({exc})").lstrip("; ")
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    return rec


# --------------------------------------------------------------------------------------------
# units and workers

_POLICIES: Dict[str, object] = {}  # per process: a VLM loads once per worker, not once per unit


def _policy(spec: str, cfg: EvalSimConfig):
    from robotr1_train.policies import make_policy

    if spec not in _POLICIES:
        _POLICIES[spec] = make_policy(spec, **cfg.vlm_options())
    return _POLICIES[spec]


def run_unit(cfg: EvalSimConfig, spec: str, label: str, task: str, episodes: Sequence[int],
             progress=None) -> List[dict]:
    from robotr1_data.sim.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import get_task
    from robotr1_train.evaluation.controller import ControllerConfig, KeypointController

    policy = _policy(spec, cfg)
    if cfg.backend == "rlbench":
        from robotr1_train.evaluation import rlbench_loop

        return rlbench_loop.run_unit(cfg, policy, label, task, episodes, progress=progress)
    cameras = list(policy.cameras)
    if cfg.video and cfg.camera not in cameras:
        cameras.append(cfg.camera)
    sim = MujocoSim(get_task(task), cameras=cameras, image_size=tuple(cfg.image_size),
                    rgb=True, depth=False, mask=False)
    try:
        controller = KeypointController(sim, ControllerConfig(max_steps=cfg.max_steps_per_keypoint))
        video_dir = os.path.join(cfg.out, "videos") if cfg.video else None
        out = []
        for e in episodes:
            out.append(run_episode(sim, controller, policy, cfg, task, e, label, video_dir))
            if progress is not None:
                progress(out[-1])
        return out
    finally:
        sim.close()


def _worker(args) -> dict:
    cfg, spec, label, task, episodes = args
    try:
        return {"episodes": run_unit(cfg, spec, label, task, episodes)}
    except UsageError as exc:
        return {"usage_error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the unit's episodes are reported as errors
        msg = f"{type(exc).__name__}: {exc}"
        return {"episodes": [_error_record(cfg, label, task, e, msg) for e in episodes]}


def _error_record(cfg, label, task, episode, msg) -> dict:
    from robotr1_train.evaluation.seeds import eval_episode_seed

    return {"policy": label, "task": task, "episode": int(episode), "variation": cfg.variation,
            "seed": eval_episode_seed(cfg.seed, task, episode), "description": "", "success": False,
            "reason": "error", "detail": msg, "keypoints_used": 0, "steps": 0, "expert_keypoints": 0,
            "keypoints": [], "video": None, "seconds": 0.0}


def plan_units(cfg: EvalSimConfig, tasks: Sequence[str]) -> List[tuple]:
    from robotr1_train.policies import policy_label

    per_unit = max(1, math.ceil(cfg.episodes / cfg.workers)) if cfg.workers > 1 else cfg.episodes
    units = []
    for spec in cfg.policies:
        label = policy_label(spec)
        for task in tasks:
            for start in range(0, cfg.episodes, per_unit):
                units.append((cfg, spec, label, task, list(range(start, min(cfg.episodes, start + per_unit)))))
    return units


def _print_episode(rec: dict) -> None:
    if rec["success"]:
        what = f"success in {rec['keypoints_used']} keypoints"
    else:
        what = f"FAILED ({rec['reason']}{': ' + rec['detail'] if rec['detail'] else ''})"
    print(f"  {rec['policy']} {rec['task']} episode {rec['episode']} (variation {rec['variation']}): {what}",
          file=sys.stderr, flush=True)


def evaluate(cfg: EvalSimConfig) -> dict:
    """Run the whole evaluation; write ``OUT/results.json``, ``OUT/report.md`` and the chart."""
    from robotr1_train.evaluation.report import write_sim_report
    from robotr1_train.evaluation.seeds import check_overlap, eval_episode_seed
    from robotr1_train.evaluation.video import video_backend
    from robotr1_train.policies import parse_policy_spec, policy_label

    cfg.check()
    tasks = cfg.resolved_tasks()
    labels = [policy_label(p) for p in cfg.policies]
    if len(set(labels)) != len(labels):
        raise UsageError(f"two policies share a name ({labels}); evaluate them into different --out directories")
    eval_seeds = {t: [eval_episode_seed(cfg.seed, t, e) for e in range(cfg.episodes)] for t in tasks}
    runs = [arg for kind, arg in map(parse_policy_spec, cfg.policies) if kind == "vlm"]
    seed_check = check_overlap(eval_seeds, cfg.train_data, runs)
    needs_gl = (cfg.video or bool(runs)) and cfg.backend == "mujoco"
    if needs_gl:
        from robotr1_data.sim.gl import check_rendering

        check_rendering()
    t0 = time.perf_counter()
    units = plan_units(cfg, tasks)
    show = _print_episode if cfg.show_progress else None
    episodes: List[dict] = []
    if cfg.workers == 1:
        for u in units:
            res = _worker(u) if show is None else _run_shown(u, show)
            if "usage_error" in res:
                raise UsageError(res["usage_error"])
            episodes.extend(res["episodes"])
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(cfg.workers, len(units))) as pool:
            for res in pool.imap_unordered(_worker, units):
                if "usage_error" in res:
                    pool.terminate()
                    raise UsageError(res["usage_error"])
                for rec in res["episodes"]:
                    if show:
                        show(rec)
                episodes.extend(res["episodes"])
    order = {lab: i for i, lab in enumerate(labels)}
    episodes.sort(key=lambda r: (order[r["policy"]], tasks.index(r["task"]), r["episode"]))
    results = {
        "kind": "eval-sim", "version": RESULTS_VERSION,
        "config": cfg.to_json(),
        "policies": {lab: spec for lab, spec in zip(labels, cfg.policies)},
        "tasks": tasks,
        "failure_reasons": list(FAILURE_REASONS),
        "video_format": video_backend() if cfg.video else None,
        "seed_check": seed_check,
        "seconds": round(time.perf_counter() - t0, 2),
        "summary": summarize(episodes, labels, tasks),
        "episodes": episodes,
    }
    with open(os.path.join(cfg.out, RESULTS_FILE), "w") as f:
        json.dump(results, f, indent=1, allow_nan=False)
    write_sim_report(cfg.out, results)
    return results


def _run_shown(unit, show) -> dict:
    cfg, spec, label, task, episodes = unit
    try:
        return {"episodes": run_unit(cfg, spec, label, task, episodes, progress=show)}
    except UsageError as exc:
        return {"usage_error": str(exc)}
    except Exception as exc:  # noqa: BLE001
        msg = f"{type(exc).__name__}: {exc}"
        recs = [_error_record(cfg, label, task, e, msg) for e in episodes]
        for r in recs:
            show(r)
        return {"episodes": recs}


# --------------------------------------------------------------------------------------------
# numbers

def aggregate(records: Sequence[dict]) -> dict:
    """Success, 95% Wilson interval, keypoints used and failures by reason over ``records``."""
    from robotr1_train.evaluation.stats import rate, wilson_interval

    n = len(records)
    k = sum(1 for r in records if r["success"])
    lo, hi = wilson_interval(k, n)
    l1 = [kp["l1"] for r in records for kp in r["keypoints"] if kp.get("l1") is not None]
    succ_kp = [r["keypoints_used"] for r in records if r["success"]]
    failures = {reason: 0 for reason in FAILURE_REASONS}
    for r in records:
        if not r["success"]:
            failures[r["reason"]] = failures.get(r["reason"], 0) + 1
    return {
        "episodes": n, "successes": k, "success_rate": rate(k, n), "ci95": [lo, hi],
        "mean_keypoints": float(np.mean([r["keypoints_used"] for r in records])) if n else None,
        "mean_keypoints_success": float(np.mean(succ_kp)) if succ_kp else None,
        "mean_keypoint_l1": float(np.mean(l1)) if l1 else None,
        "failures": failures,
    }


def summarize(episodes: Sequence[dict], labels: Sequence[str], tasks: Sequence[str]) -> dict:
    out = {}
    for lab in labels:
        mine = [r for r in episodes if r["policy"] == lab]
        per_task = {}
        for t in tasks:
            rs = [r for r in mine if r["task"] == t]
            entry = aggregate(rs)
            variations = sorted({r["variation"] for r in rs if r["variation"] is not None})
            entry["variations"] = {str(v): aggregate([r for r in rs if r["variation"] == v]) for v in variations}
            per_task[t] = entry
        out[lab] = {"overall": aggregate(mine), "tasks": per_task}
    return out
