"""Recording cost against the bare cost of the same physics steps and renders, in one run.

For each setting and task, demos are recorded (timed), and the time spent inside the control
steps' physics and the renders is measured during the same run: record / bare (in run) is the
overhead of everything else (expert, IK, observations, stacking, keypoints, resets): target
<= 1.15. As a second view, the same physics steps and renders are replayed on their own
afterwards (record / replay); replayed renders run back to back on warm caches, so that ratio is
higher and noisier.
Also reports ms per control step (recording time over recorded frames, one frame per 0.05 s
control step; also its CPU time, steadier on a loaded machine) and how many times faster that
is than RLBench's ~0.12 s per step, demos per minute per core (one process), frames
and keypoints per demo and the expert failure rate. ``all_cams_three_pass`` (``robot_r1_three_pass``) records like ``all_cams``
(``robot_r1``) through the previous render path (one ``mujoco.Renderer`` pass per mode and
camera), so the render change is measured in the same run. ``all_cams_coarse``
(``robot_r1_coarse``) records like ``all_cams`` (``robot_r1``) with the opt-in coarser
tessellation of MuJoCo's built-in shapes (changes pixels). ``all_cams_one_thread`` renders
the five cameras in one GL context (``CameraRig(threads=1)``), as before the default on a CPU
rasteriser became two contexts in two threads: then a step uses up to two cores, and the CPU
column is the time summed over them. ``robot_r1`` draws its frames in a background thread
while the expert and physics run the next control step (``CameraRig.submit``, the default where
one context draws); ``robot_r1_no_pipeline`` draws each frame while the recorder waits, as
before; ``all_cams_pipeline`` / ``all_cams_one_thread_pipeline`` pipeline the five cameras over
two contexts or one (measured, not the default). For pipelined settings the renders' share of
"bare (in run)" is the same frames drawn through the same pipeline on their own.

    python bench/record.py [--tasks ...] [--episodes N] [--markdown docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _report import emit  # noqa: E402  (bench/ is on sys.path when run as a script)

from robotr1_data.episode import CAMERAS  # noqa: E402
from robotr1_data.expert import DemoError, Expert  # noqa: E402
from robotr1_data.record import record_demo  # noqa: E402
from robotr1_data.backends.mujoco.cameras import reference_renderer, render_three_pass  # noqa: E402
from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim  # noqa: E402
from robotr1_data.tasks.registry import all_tasks, get_task  # noqa: E402

SETTINGS = {
    "robot_r1": dict(cameras=["front"], image_size=(224, 224), rgb=True, depth=False, mask=False),
    "all_cams": dict(cameras=list(CAMERAS),
                     image_size=(128, 128), rgb=True, depth=True, mask=True),
    "no_cams": dict(cameras=[], image_size=(128, 128)),
}
# The previous render path, drawn while the recorder waits (its patched rig.render is what a
# synchronous submit calls).
SETTINGS["all_cams_three_pass"] = dict(SETTINGS["all_cams"], render_threads=1, render_pipeline=False)
# The render path before its cameras were split over two GL contexts in two threads.
SETTINGS["all_cams_one_thread"] = dict(SETTINGS["all_cams"], render_threads=1, render_pipeline=False)
# The cameras split over two contexts while the recorder waits: the default of the seventh and
# eighth sessions (since the ninth, whole frames go to two background contexts).
SETTINGS["all_cams_sync"] = dict(SETTINGS["all_cams"], render_pipeline=False)
SETTINGS["all_cams_pool_of_one"] = dict(SETTINGS["all_cams"], render_threads=1, render_pipeline=True)
SETTINGS["all_cams_pool_of_four"] = dict(SETTINGS["all_cams"], render_threads=4, render_pipeline=True)
# Frames stacked at the demo's end, as before the ninth session (no FrameStore).
SETTINGS["all_cams_stacked"] = dict(SETTINGS["all_cams"], frame_store=False)
SETTINGS["robot_r1_stacked"] = dict(SETTINGS["robot_r1"], frame_store=False)
# One background context for the front camera (the eighth session's default) / drawn in place.
SETTINGS["robot_r1_pool_of_one"] = dict(SETTINGS["robot_r1"], render_threads=1)
SETTINGS["robot_r1_no_pipeline"] = dict(SETTINGS["robot_r1"], render_pipeline=False)
# Opt-in, changes pixels: MuJoCo's built-in shapes drawn with (12, 6) slices and stacks instead of
# (28, 16) (generate/render --tessellation; bench/render.py measures the pixel difference).
COARSE = (12, 6)
SETTINGS["all_cams_coarse"] = dict(SETTINGS["all_cams"], tessellation=COARSE)
SETTINGS["robot_r1_coarse"] = dict(SETTINGS["robot_r1"], tessellation=COARSE)
SETTINGS["robot_r1_three_pass"] = SETTINGS["robot_r1_no_pipeline"]  # one pass per mode: RGB only, one pass
THREE_PASS = {"all_cams_three_pass", "robot_r1_three_pass"}
RLBENCH_S_PER_STEP = 0.12  # RLBench's published cost of one control step with its cameras


def _timed(fn, acc):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc["t"] += time.perf_counter() - t0
    return wrapper


def bench_task(task: str, setting: str, episodes: int, image_every: int = 1) -> dict:
    opts = dict(SETTINGS[setting])
    frame_store = opts.pop("frame_store", True)
    with MujocoSim(get_task(task), **opts) as sim:  # tessellation: what --tessellation passes
        if not frame_store:
            sim.image_specs = None  # record_demo then stacks the frames at the end
        ref = None
        if setting in THREE_PASS:
            rig = sim.rig
            ref = reference_renderer(sim.model, opts["image_size"])
            modes = dict(rgb=opts["rgb"], depth=opts["depth"], mask=opts["mask"])
            def three_pass(data, out=None):
                arrays = render_three_pass(ref, data, rig.cameras, rig._geom_body, **modes)
                for key, arr in (out or {}).items():  # the recorder's slots, as CameraRig fills them
                    arr[...] = arrays[key]
                return arrays if out is None else out

            rig.render = three_pass
        expert = Expert(sim)
        count = sim.task.variation_count()
        # In-run bare cost: time spent inside the very control steps and renders that the
        # recording performs, measured while it runs (resets, with their settling physics,
        # count as overhead: conservative).
        inside = {"t": 0.0}
        # Pipelined renders are drawn in other threads while the recording goes on: their cost
        # is taken below, from the same frames through the same pipeline on their own.
        pipelined = sim.rig is not None and sim.rig._mode != "sync"
        for method in ("step",) if pipelined else ("step", "render", "render_async"):
            setattr(sim, method, _timed(getattr(sim, method), inside))
        eps, failures, t_rec = [], 0, 0.0
        seed = 0
        cpu0 = time.process_time()
        while len(eps) < episodes:
            t0 = time.perf_counter()
            try:
                eps.append(record_demo(sim, expert, seed % count, seed, image_every=image_every))
                t_rec += time.perf_counter() - t0
            except DemoError:
                failures += 1
                t_rec += time.perf_counter() - t0
            seed += 1
        cpu_rec = time.process_time() - cpu0
        t_inside = inside["t"]
        # Replay cost: the same physics steps and renders again, on their own.
        frames = sum(e.length for e in eps)
        m, d = sim.model, sim.data
        mj = sim.mj
        # Replay every control step from its recorded state with its recorded controls, so
        # the bare physics sees the same motion and contacts; only the steps are timed.
        scratch = mj.MjData(m)
        t_phys = 0.0
        for e in eps:
            sim.set_state(e.sim_state[0])
            t0 = time.perf_counter()
            for _ in range(sim.settle_substeps):  # the recorder's reset settles objects too
                mj.mj_step(m, d)
            t_phys += time.perf_counter() - t0
            for t in range(e.length - 1):
                sim.set_state(e.sim_state[t])
                mj.mj_setState(m, scratch, e.sim_state[t + 1], sim._state_spec)
                d.ctrl[:] = scratch.ctrl
                t0 = time.perf_counter()
                for _ in range(sim.n_substeps):
                    mj.mj_step(m, d)
                mj.mj_forward(m, d)
                t_phys += time.perf_counter() - t0
        t_render = 0.0
        if sim.rig is not None:
            for e in eps:
                jobs = []
                for i in e.image_frames:  # the frames that were rendered
                    sim.set_state(e.sim_state[i])
                    t0 = time.perf_counter()
                    jobs.append(sim.rig.submit(sim.data))  # the recorder's path: drawn here
                    t_render += time.perf_counter() - t0  # unless pipelined
                t0 = time.perf_counter()
                for job in jobs:
                    job.result()
                t_render += time.perf_counter() - t0
        if ref is not None:
            ref.close()
    if pipelined:
        t_inside += t_render
    bare = t_phys + t_render
    return {"task": task, "setting": setting, "demos": len(eps), "failures": failures,
            "failure_rate": failures / (len(eps) + failures),
            "frames_per_demo": frames / len(eps),
            "keypoints_per_demo": float(np.mean([len(e.keypoints) for e in eps])),
            "record_s": t_rec, "bare_s": t_inside, "replay_s": bare,
            "ratio": t_rec / t_inside if t_inside else float("nan"),
            "replay_ratio": t_rec / bare if bare else float("nan"),
            "demos_per_min_core": 60.0 * len(eps) / t_rec, "frames": frames,
            "ms_per_step": 1e3 * t_rec / frames, "cpu_s": cpu_rec,
            "cpu_ms_per_step": 1e3 * cpu_rec / frames,
            "x_rlbench": RLBENCH_S_PER_STEP / (t_rec / frames)}


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, MUJOCO_GL={os.environ.get('MUJOCO_GL', '?')}, "
            f"1-min load average {os.getloadavg()[0]:.1f} at the end (other processes share the cores)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=None)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--settings", nargs="+", choices=sorted(SETTINGS),
                   default=["robot_r1", "all_cams", "all_cams_three_pass", "no_cams"])
    p.add_argument("--image-every", type=int, default=1,
                   help="images every K-th frame and at keypoints (generate --image-every)")
    p.add_argument("--tessellation", type=int, nargs=2, default=list(COARSE), metavar=("SLICES", "STACKS"),
                   help="of the *_coarse settings (default: %(default)s)")
    p.add_argument("--markdown", default=None, help="write the table to this file")
    args = p.parse_args()
    for name in ("all_cams_coarse", "robot_r1_coarse"):
        SETTINGS[name]["tessellation"] = tuple(args.tessellation)
    tasks = args.tasks or list(all_tasks())
    rows = []
    for setting in args.settings:
        for task in tasks:
            r = bench_task(task, setting, args.episodes, args.image_every)
            rows.append(r)
            print(f"{setting:<9} {task:<28} ratio {r['ratio']:.3f}  {r['ms_per_step']:.1f} ms/step "
                  f"(CPU {r['cpu_ms_per_step']:.1f})  "
                  f"{r['x_rlbench']:.1f}x RLBench  {r['demos_per_min_core']:.1f} demos/min/core  "
                  f"{r['frames_per_demo']:.0f} frames  {r['keypoints_per_demo']:.1f} kp  "
                  f"fail {r['failure_rate']:.0%}", flush=True)
    lines = [f"Machine: {machine()}; {args.episodes} demos per task and setting"
             + (f"; *_coarse: tessellation {tuple(args.tessellation)}"
                if any(s.endswith("_coarse") for s in args.settings) else "") + ".", "",
             "| setting | task | ms per control step | CPU ms per step | × faster than RLBench (0.12 s) | demos/min/core | frames/demo | keypoints/demo | expert failure rate | record / bare (in run) | record / replay |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['task']} | {r['ms_per_step']:.1f} | {r['cpu_ms_per_step']:.1f} | "
                     f"{r['x_rlbench']:.1f}× | "
                     f"{r['demos_per_min_core']:.1f} | "
                     f"{r['frames_per_demo']:.0f} | {r['keypoints_per_demo']:.1f} | "
                     f"{r['failure_rate']:.0%} | {r['ratio']:.3f} | {r['replay_ratio']:.3f} |")
    for setting in args.settings:
        sel = [r for r in rows if r["setting"] == setting]
        rec, bare = sum(r["record_s"] for r in sel), sum(r["bare_s"] for r in sel)
        replay = sum(r["replay_s"] for r in sel)
        step_s = rec / sum(r["frames"] for r in sel)
        cpu_step = sum(r["cpu_s"] for r in sel) / sum(r["frames"] for r in sel)
        lines.append(f"| **{setting} (all tasks)** | | **{1e3 * step_s:.1f}** | {1e3 * cpu_step:.1f} | "
                     f"**{RLBENCH_S_PER_STEP / step_s:.1f}×** | "
                     f"{60 * sum(r['demos'] for r in sel) / rec:.1f} | | | | "
                     f"**{rec / bare:.3f}** | {rec / replay:.3f} |")
    table = "\n".join(lines)
    emit(table, args.markdown, mode="w")  # the whole recording report


if __name__ == "__main__":
    main()
