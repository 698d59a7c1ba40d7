"""Closed-loop evaluation in the simulator (``robotr1-train eval-sim``).

One episode loop for every backend: ``--backend`` names a registered backend
(``robotr1_data.backends``), which gives a ``KeypointEnv`` per task. Per episode: reset the task
with an evaluation seed (``seeds.eval_episode_seed``, disjoint from the training stream), then
loop observe -> ``policy.predict`` -> ``env.execute`` until the task's success conditions hold, a
failure condition fires, the policy's output is unusable, or the keypoint budget
(``max_keypoints``, PerAct's 25 by default) runs out. MuJoCo checks success and failure
conditions after every 0.05 s control step; RLBench after every keypoint it executes.

Failure reasons (counted, never raised):

- ``unparseable``: the policy gave no usable answer (a VLM without ``<answer> [x, y, z] </answer>``);
- ``unreachable``: the target is non-finite, outside the workspace box (+ ``range_margin``; MuJoCo),
  or the backend cannot reach it (IK; RLBench's planner);
- ``timeout``: the keypoint budget ran out without success;
- ``fail_condition``: the task's failure condition fired;
- ``error``: anything else went wrong inside the episode (message kept in ``detail``).

Work is split into units of (policy, task, episodes); each episode's seed and variation depend only
on (seed, task, episode), so results do not depend on ``workers``. Workers are spawned processes
that die with the parent (``robotr1_data.jobs``, the runner ``robotr1-data generate`` uses).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.backends import backend_choices
from robotr1_data.config import check_bounds, comma_list, opt
from robotr1_data.errors import UsageError, output_dir
from robotr1_data.jobs import run_jobs
from robotr1_data.views import check_tessellation, check_tessellation_backend

FAILURE_REASONS = ("unparseable", "unreachable", "timeout", "fail_condition", "error")
RESULTS_FILE = "results.json"
RESULTS_VERSION = 1
NEEDS_EXPERT_WAYPOINTS = ("oracle",)  # policies that replay the backend's expert waypoints


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
    image_size: Tuple[int, int] = opt((224, 224), "height and width of the image the VLM is "
                                      "shown (see --render-size) and of the view rendered for "
                                      "the other policies' videos", metavar=("H", "W"))
    render_size: Optional[Tuple[int, int]] = opt(
        None, "vlm: height and width the simulator renders the VLM's view at before it is resized "
              "to --image-size (cv2 INTER_AREA, build-qa's resize); default: the size the "
              "training shards were rendered at (a vlm:RUN_DIR whose QA store and shards are "
              "found, or --train-data), so the VLM sees the pixels it was trained on; else "
              "--image-size, rendered directly", metavar=("H", "W"), min=16, max=1024)
    tessellation: Optional[Tuple[int, int]] = opt(
        None, "mujoco: draw MuJoCo's spheres, capsules and cylinders with SLICES x STACKS segments "
              "instead of the model's 28 x 16 (default: the model's, exact), as `robotr1-data "
              "generate --tessellation` drew the training data; a mismatch with the training "
              "shards' setting is warned about", metavar=("SLICES", "STACKS"))
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
    backend: str = opt("mujoco", "a registered simulator backend (robotr1_data.backends); rlbench: "
                       "RLBench's own tasks in CoppeliaSim (needs PyRep; see docs/rlbench_backend.md)",
                       choices=backend_choices())

    def validate(self) -> None:
        """Field checks that need no simulator, model or file system (``check`` adds those)."""
        check_bounds(self)
        if not self.policies:
            raise UsageError("no --policy given; use vlm:RUN_DIR, oracle, random or noop")
        self.image_size = tuple(self.image_size)  # type: ignore[assignment]
        if self.render_size is not None:
            self.render_size = tuple(self.render_size)  # type: ignore[assignment]
        check_tessellation(self.tessellation)
        if self.tessellation is not None:
            self.tessellation = tuple(self.tessellation)  # type: ignore[assignment]

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        d["render_size"] = None if self.render_size is None else list(self.render_size)
        d["tessellation"] = None if self.tessellation is None else list(self.tessellation)
        return d

    def resolved_tasks(self) -> List[str]:
        from robotr1_data.backends import get_backend

        backend = get_backend(self.backend)
        backend.require()
        return backend.check_tasks([] if self.tasks in ([], ["all"]) else list(self.tasks))

    def check(self) -> None:
        from robotr1_data.backends import get_backend
        from robotr1_train.policies import parse_policy_spec

        self.validate()
        backend = get_backend(self.backend)
        check_tessellation_backend(self.tessellation, backend)
        for p in self.policies:
            if parse_policy_spec(p)[0] in NEEDS_EXPERT_WAYPOINTS and not backend.has_expert_waypoints:
                raise UsageError(f"policy '{p}' replays the expert's waypoints, which the {self.backend} "
                                 f"backend does not expose; use vlm:RUN_DIR, random or noop with "
                                 f"--backend {self.backend}")
        from robotr1_data.episode import check_views

        check_views([self.camera], self.image_size)
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

def _xyz(v) -> Optional[List[float]]:
    return None if v is None else [round(float(x), 4) for x in v]


def run_episode(env, policy, cfg: EvalSimConfig, task: str, episode: int,
                label: str, video_dir: Optional[str] = None) -> dict:
    """Run one evaluation episode on any ``KeypointEnv`` (``robotr1_data.backends``); returns
    its JSON record. Never raises for policy output."""
    from robotr1_train.evaluation.seeds import eval_episode_seed
    from robotr1_train.evaluation.video import EpisodeVideo
    from robotr1_train.policies.base import EpisodeContext, Observation, PolicyOutputError

    seed = eval_episode_seed(cfg.seed, task, episode)
    count = env.variation_count()
    if cfg.variation is not None and not 0 <= cfg.variation < count:
        raise UsageError(f"--variation {cfg.variation} is out of range for {task} (0..{count - 1}); "
                         "pick one in range or leave --variation out to cycle through all")
    variation = cfg.variation if cfg.variation is not None else episode % count
    t0 = time.perf_counter()
    rec = new_record(label, task, episode, variation, seed, backend=cfg.backend)
    # A backend that steps finely gives a frame per control step; one that returns one
    # observation per keypoint gives a frame per keypoint, played slower.
    per_step = bool(getattr(env, "frames_per_step", True))
    video = EpisodeVideo(cfg.camera, cfg.video_every if per_step else 1) if video_dir else None
    fps = cfg.video_fps if per_step else max(1, cfg.video_fps // 10)
    outcome = {"success": False, "failed": False}
    state = {"pred": None}

    def caption():
        return f"{label} {task} v{variation} kp {len(rec['keypoints'])}"

    try:
        descriptions, obs = env.reset(variation, seed)
        rec["description"] = descriptions[0] if descriptions else task.replace("_", " ")
        waypoints = list(env.expert_waypoints())
        rec["expert_keypoints"] = len(waypoints)
        policy.reset(EpisodeContext(task, int(variation), list(descriptions), int(seed),
                                    np.random.default_rng([int(seed), 1]), env.default_quat(),
                                    waypoints))
        if video is not None:
            env.set_frame_hook(lambda: video.maybe_add(env, state["pred"], env.expert_target(), caption()))

        for k in range(cfg.max_keypoints):
            truth = env.expert_target()
            if video is not None and k == 0:
                video.maybe_add(env, None, truth, caption(), force=True)
            pose = np.asarray(obs["gripper_pose"], float)
            observation = Observation(
                task=task, variation=int(variation), description=rec["description"], state=pose[:3],
                gripper_open=bool(float(obs["gripper_open"]) > 0.5),
                images={c: obs[f"{c}_rgb"] for c in policy.cameras if f"{c}_rgb" in obs},
                tcp_pose=pose, keypoint_index=k,
                joint_positions=np.asarray(obs["joint_positions"], float))
            kp = {"index": k, "pred": None, "gripper_open": None, "true": _xyz(truth), "l1": None,
                  "text": None, "status": None, "steps": 0, "tracking_error": None}
            try:
                target = policy.predict(observation)
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
            bad = None if target.hold else env.check_target(target.xyz)
            if bad:
                kp["status"] = "unreachable"
                rec["keypoints"].append(kp)
                rec["reason"], rec["detail"] = "unreachable", bad
                break
            state["pred"] = None if target.hold else target.xyz
            obs, success, terminate, reason = env.execute(target)
            report = env.last
            rec["steps"] += report.steps
            kp.update(status=report.status, steps=report.steps, tracking_error=report.tracking_error)
            rec["keypoints"].append(kp)
            if reason:  # the backend could not execute the target; the scene is unchanged
                rec["reason"], rec["detail"] = "unreachable", reason
                break
            if success or terminate:
                outcome["success"], outcome["failed"] = bool(success), not success
                break
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken episode must not end the evaluation
        rec["reason"], rec["detail"] = "error", f"{type(exc).__name__}: {exc}"
    finally:
        env.set_frame_hook(None)
    frames = video.frames if video is not None else None
    return finish_record(rec, cfg, t0, outcome["success"], outcome["failed"], frames, video_dir, fps)


def new_record(label: str, task: str, episode: int, variation: int, seed: int, **extra) -> dict:
    """An episode's JSON record before it runs."""
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
    from robotr1_data.backends import get_backend

    backend = get_backend(cfg.backend)
    from robotr1_train.policies import parse_policy_spec

    policy = _policy(spec, cfg)
    cameras = list(policy.cameras)
    if cfg.video and cfg.camera not in cameras:
        cameras.append(cfg.camera)
    # A VLM's view is rendered at the render size and resized to --image-size by the policy
    # (store.resize, as build-qa resized the training frames); its video shows those frames.
    # Every other policy renders at --image-size, as before the render size existed.
    size = tuple(cfg.image_size)
    if cfg.render_size is not None and parse_policy_spec(spec)[0] == "vlm":
        size = tuple(cfg.render_size)
    options = dict(cameras=cameras, image_size=size,
                   observe_images=bool(policy.cameras),
                   max_steps_per_keypoint=cfg.max_steps_per_keypoint, range_margin=cfg.range_margin)
    if cfg.tessellation is not None:  # only then: backends that render otherwise lack the option
        options["tessellation"] = tuple(cfg.tessellation)
    env = backend.keypoint_env(task, **options)
    try:
        video_dir = os.path.join(cfg.out, "videos") if cfg.video else None
        out = []
        for e in episodes:
            out.append(run_episode(env, policy, cfg, task, e, label, video_dir))
            if progress is not None:
                progress(out[-1])
        return out
    finally:
        backend.release_keypoint_env(env)


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
            "keypoints": [], "video": None, "backend": cfg.backend, "seconds": 0.0}


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
    from robotr1_train.evaluation.view_check import check_views, resolve_render_size
    from robotr1_train.policies import parse_policy_spec, policy_label

    cfg.check()
    tasks = cfg.resolved_tasks()
    labels = [policy_label(p) for p in cfg.policies]
    if len(set(labels)) != len(labels):
        raise UsageError(f"two policies share a name ({labels}); evaluate them into different --out directories")
    eval_seeds = {t: [eval_episode_seed(cfg.seed, t, e) for e in range(cfg.episodes)] for t in tasks}
    runs = [arg for kind, arg in map(parse_policy_spec, cfg.policies) if kind == "vlm"]
    seed_check = check_overlap(eval_seeds, cfg.train_data, runs)
    from robotr1_data.backends import get_backend

    mujoco_gl = get_backend(cfg.backend).needs_gl
    # The size the VLM's view is rendered at before build-qa's resize to --image-size: the
    # training shards' (what build-qa resized from), unless --render-size says or nothing is known.
    training_sizes = seed_check.get("training_render_sizes", [])
    render_size, render_source = resolve_render_size(cfg.render_size, cfg.image_size, training_sizes)
    # Only a policy that looks (vlm) is shifted by how the view is drawn; the shards'
    # tessellation says nothing about a backend that does not draw with MuJoCo.
    view_check = (check_views(cfg.camera, cfg.image_size, cfg.tessellation,
                              seed_check.get("training_views", []) if mujoco_gl else [], runs,
                              render_size=render_size, render_source=render_source,
                              training_sizes=training_sizes)
                  if runs else None)
    needs_gl = (cfg.video or bool(runs)) and mujoco_gl
    if needs_gl:
        from robotr1_data.backends.mujoco.gl import check_rendering

        check_rendering()
    t0 = time.perf_counter()
    # The workers get the resolved size; with a vlm policy results.json's config and view_check
    # say which size was rendered and where it came from (without one, the flag as given).
    run_cfg = dataclasses.replace(cfg, render_size=render_size) if runs else cfg
    units = plan_units(run_cfg, tasks)
    show = _print_episode if cfg.show_progress else None
    if cfg.workers == 1:  # in this process: each episode shown as it finishes
        unit_results = run_jobs(_worker if show is None else (lambda u: _run_shown(u, show)),
                                units, stop=_usage_error)
    else:
        def show_unit(res):
            if show and not _usage_error(res):
                for rec in res["episodes"]:
                    show(rec)

        unit_results = run_jobs(_worker, units, cfg.workers, on_result=show_unit, stop=_usage_error)
    episodes: List[dict] = []
    for res in unit_results:
        if _usage_error(res):
            raise UsageError(res["usage_error"])
        episodes.extend(res["episodes"])
    order = {lab: i for i, lab in enumerate(labels)}
    episodes.sort(key=lambda r: (order[r["policy"]], tasks.index(r["task"]), r["episode"]))
    results = {
        "kind": "eval-sim", "version": RESULTS_VERSION,
        "config": run_cfg.to_json(),
        "policies": {lab: spec for lab, spec in zip(labels, cfg.policies)},
        "tasks": tasks,
        "failure_reasons": list(FAILURE_REASONS),
        "video_format": video_backend() if cfg.video else None,
        "seed_check": seed_check,
        "view_check": view_check,
        "seconds": round(time.perf_counter() - t0, 2),
        "summary": summarize(episodes, labels, tasks),
        "episodes": episodes,
    }
    with open(os.path.join(cfg.out, RESULTS_FILE), "w") as f:
        json.dump(results, f, indent=1, allow_nan=False)
    write_sim_report(cfg.out, results)
    return results


def _usage_error(res: dict) -> bool:
    return "usage_error" in res


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
