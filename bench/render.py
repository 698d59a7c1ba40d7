"""Per-frame render cost, every path side by side in one run: bare physics, each render mode
alone, the old three-pass path (one ``mujoco.Renderer`` pass per mode and camera), the new path
(``CameraRig``: masks from one segmentation pass, RGB + depth from one ordinary pass, geoms
outside a camera's view or owning no pixel not drawn), the new path drawing more geoms, its
parts (scene updates, GL passes, copies and dtype conversions), ideas measured and not kept
(bench/_render_ideas.py: exact, no CPU saved), the default (on a CPU rasteriser: the cameras split
over two GL contexts rendering in two threads; every other row uses one context), and the opt-in
coarser tessellation of MuJoCo's
built-in shapes (``CameraRig(tessellation=(slices, stacks))``: changes pixels; how much is
printed under the table). Before timing, every exact method's arrays are checked against the
old path's, bit for bit, on a few states.

States come from one recorded expert demo. Every method renders the same state back to back
(so machine load drifts over all of them alike); each round sums over all states; the table
gives the median round, in ms per frame (all cameras together), and the ratio to the old path:
wall time, and this process's CPU time (all its threads; steadier than wall time on a loaded
machine, where waiting for a core inflates the wall time).

    python bench/render.py [--task pick_up_cup] [--size 128] [--cameras ...] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _report import emit  # noqa: E402  (bench/ is on sys.path when run as a script)

from robotr1_data.episode import CAMERAS as ALL_CAMERAS  # noqa: E402
from robotr1_data.expert import Expert  # noqa: E402
from robotr1_data.record import record_demo  # noqa: E402
from _render_ideas import PipelinedRig, PlaneQuadRig  # noqa: E402

from robotr1_data.backends.mujoco.cameras import CameraRig, reference_renderer, render_three_pass  # noqa: E402
from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim  # noqa: E402
from robotr1_data.tasks.registry import get_task  # noqa: E402

import mujoco  # noqa: E402  (after robotr1_data.backends.mujoco, which picks the GL platform)

CAMERAS = list(ALL_CAMERAS)
# Opt-in CameraRig(tessellation=(slices, stacks)) of MuJoCo's built-in shapes; default (28, 16).
TESSELLATIONS = [(16, 8), (12, 6), (8, 4)]
COARSE = (12, 6)
SEG = (mujoco.mjtRndFlag.mjRND_SEGMENT, mujoco.mjtRndFlag.mjRND_IDCOLOR)


def methods(sim, cams, size):
    m, d = sim.model, sim.data
    ref = reference_renderer(m, size)
    gb = np.append(m.geom_bodyid, -1).astype(np.int32)
    one = dict(threads=1)  # every row but the default's: one GL context, as before threads
    rigs = {key: CameraRig(m, cams, size, cull=True, **one, **modes) for key, modes in {
        "rgb": dict(rgb=True, depth=False, mask=False),
        "depth": dict(rgb=False, depth=True, mask=False),
        "mask": dict(rgb=False, depth=False, mask=True),
        "rgbd": dict(rgb=True, depth=True, mask=False),
        "all": dict(rgb=True, depth=True, mask=True),
        "all_frustum": dict(rgb=True, depth=True, mask=True)}.items()}
    all_modes = dict(rgb=True, depth=True, mask=True)
    rigs["all_noskip"] = CameraRig(m, cams, size, cull=False, **one, **all_modes)
    rigs["default"] = CameraRig(m, cams, size, **all_modes)  # cull and threads as the GL renderer decides
    rigs["plane_quads"] = PlaneQuadRig(m, cams, size, cull=True, **one, **all_modes)
    rigs["pipelined"] = PipelinedRig(m, cams, size, cull=True, **one, **all_modes)
    for t in TESSELLATIONS:
        rigs[t] = CameraRig(m, cams, size, tessellation=t, cull=True, **one, **all_modes)
    rigs["rgb", COARSE] = CameraRig(m, cams, size, rgb=True, depth=False, mask=False,
                                    tessellation=COARSE, cull=True, **one)
    rigs["all_frustum"]._skip_unseen = False  # skips geoms outside the view, draws hidden ones
    parts = rigs["all"]
    scn, con, rect = parts.scene, parts._con, parts._rect
    h, w = size
    rgb, z = np.empty((h, w, 3), np.uint8), np.empty((h, w), np.float32)

    def physics():
        for _ in range(sim.n_substeps):
            mujoco.mj_step(m, d)
        mujoco.mj_forward(m, d)

    def update_all():
        for c in cams:
            mujoco.mjv_updateScene(m, d, parts._option, None, parts._mjv_cams[c],
                                   mujoco.mjtCatBit.mjCAT_ALL.value, scn)

    def gl_pass(read_rgb, read_z, seg):
        def run():
            parts._gl.make_current()
            for c in cams:
                mujoco.mjv_updateScene(m, d, parts._option, None, parts._mjv_cams[c],
                                       mujoco.mjtCatBit.mjCAT_ALL.value, scn)
                for f in SEG:
                    scn.flags[f] = seg
                mujoco.mjr_render(rect, scn, con)
                mujoco.mjr_readPixels(rgb if read_rgb else None, z if read_z else None, rect, con)
                for f in SEG:
                    scn.flags[f] = 0
        return run

    def flips():
        for _ in cams:
            rgb[::-1].copy()

    def metres():
        for _ in cams:
            parts._metres(z)

    seg = np.zeros((h, w, 3), np.uint8)  # background everywhere: a valid segment image

    def body_ids():
        for _ in cams:
            geoms = [scn.geoms[i] for i in range(scn.ngeom)]
            parts._body_lut(geoms)[parts._segment_ids(seg, len(geoms))]

    return {
        "physics: one control step (bare)": physics,
        "old: rgb alone (mujoco.Renderer)": lambda: render_three_pass(ref, d, cams, gb, True, False, False),
        "old: depth alone": lambda: render_three_pass(ref, d, cams, gb, False, True, False),
        "old: mask alone": lambda: render_three_pass(ref, d, cams, gb, False, False, True),
        "**old: rgb + depth + mask (three passes)**": lambda: render_three_pass(ref, d, cams, gb),
        "new: rgb alone (CameraRig)": lambda: rigs["rgb"].render(d),
        "new: depth alone": lambda: rigs["depth"].render(d),
        "new: mask alone": lambda: rigs["mask"].render(d),
        "new: rgb + depth": lambda: rigs["rgbd"].render(d),
        "**new: rgb + depth + mask (cull=True)**": lambda: rigs["all"].render(d),
        "new: rgb + depth + mask, drawing hidden geoms": lambda: rigs["all_frustum"].render(d),
        "new: rgb + depth + mask, drawing every geom (cull=False)": lambda: rigs["all_noskip"].render(d),
        f"**default: rgb + depth + mask (cull={rigs['default']._skip_unseen}, threads={rigs['default'].threads}: "
        f"{rigs['default'].gl_renderer})**":
            lambda: rigs["default"].render(d),
        "idea (exact, not kept): + floor quads outside the view not drawn":
            lambda: rigs["plane_quads"].render(d),
        "idea (exact, not kept): + one buffer per camera, passes pipelined":
            lambda: rigs["pipelined"].render(d),
        **{f"opt-in (changes pixels): rgb + depth + mask, tessellation {t}":
           (lambda t=t: rigs[t].render(d)) for t in TESSELLATIONS},
        f"opt-in (changes pixels): rgb alone, tessellation {COARSE}":
            lambda: rigs["rgb", COARSE].render(d),
        "part: scene updates (mjv_updateScene, every camera)": update_all,
        "part: ordinary pass, rgb read": gl_pass(True, False, 0),
        "part: ordinary pass, rgb + depth read": gl_pass(True, True, 0),
        "part: segmentation pass, ids read": gl_pass(True, False, 1),
        "part: segmentation pass, ids + depth read": gl_pass(True, True, 1),
        "part: rgb row flip + copy": flips,
        "part: z-buffer to float32 metres (flipped)": metres,
        "part: segment colours to body ids (flipped)": body_ids,
    }, [ref, *rigs.values()], rigs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="pick_up_cup")
    p.add_argument("--cameras", nargs="+", default=CAMERAS)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--llvmpipe-threads", default=None,
                   help="set LP_NUM_THREADS (threads of Mesa's CPU rasteriser; unset: one per core)")
    p.add_argument("--markdown", default=None, help="append the table to this file")
    args = p.parse_args()
    if args.llvmpipe_threads is not None:  # before the first GL context reads it
        os.environ["LP_NUM_THREADS"] = args.llvmpipe_threads
    size = (args.size, args.size)
    with MujocoSim(get_task(args.task)) as sim:
        ep = record_demo(sim, Expert(sim), 0, 0)
        states = ep.sim_state[::2]
        table, owned, rigs = methods(sim, args.cameras, size)
        checks = check(sim, states, rigs, owned[0], args.cameras)
        wall = {name: [] for name in table}
        cpu = {name: [] for name in table}
        for _ in range(args.rounds + 1):  # the first round warms caches and is dropped
            acc_w = dict.fromkeys(table, 0.0)
            acc_c = dict.fromkeys(table, 0.0)
            for s in states:
                for name, fn in table.items():
                    sim.set_state(s)
                    c0, t0 = time.process_time(), time.perf_counter()
                    fn()
                    acc_w[name] += time.perf_counter() - t0
                    acc_c[name] += time.process_time() - c0
            for name in table:
                wall[name].append(1e3 * acc_w[name] / len(states))
                cpu[name].append(1e3 * acc_c[name] / len(states))
        for r in owned:
            r.close()
    ms = {name: statistics.median(v[1:]) for name, v in wall.items()}
    cpu_ms = {name: statistics.median(v[1:]) for name, v in cpu.items()}
    key = "**old: rgb + depth + mask (three passes)**"
    old, old_cpu = ms[key], cpu_ms[key]
    lines = [f"{args.task}, {len(args.cameras)} camera(s) ({', '.join(args.cameras)}), "
             f"{args.size}², {len(states)} states × {args.rounds} rounds, median round; "
             f"MUJOCO_GL={os.environ.get('MUJOCO_GL', '?')}, "
             f"LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', 'unset')}, {os.cpu_count()} cores, "
             f"1-min load average {os.getloadavg()[0]:.1f} at the end.", "",
             "| what (per frame, all cameras) | wall ms | vs old | CPU ms | vs old |",
             "|---|---:|---:|---:|---:|"]
    for name, v in ms.items():
        c = cpu_ms[name]
        lines.append(f"| {name} | {v:.2f} | {v / old:.2f}× | {c:.2f} | {c / old_cpu:.2f}× |")
    lines += ["", *checks]
    emit("\n".join(lines), args.markdown)


def check(sim, states, rigs, ref, cams):
    """Before timing: the exact methods' arrays equal the old path's bit for bit; the opt-in
    tessellations' differences from them, over a few states."""
    gb = np.append(sim.model.geom_bodyid, -1).astype(np.int32)
    exact = ["all", "all_noskip", "default", "plane_quads", "pipelined"]
    differ = dict.fromkeys(exact, 0)
    rgb_diff = {t: [] for t in TESSELLATIONS}
    mask_diff = {t: [] for t in TESSELLATIONS}
    picked = states[:: max(1, len(states) // 6)]
    for s in picked:
        sim.set_state(s)
        old = render_three_pass(ref, sim.data, cams, gb)
        for key in exact:
            new = rigs[key].render(sim.data)
            differ[key] += sum(new[k].tobytes() != v.tobytes() for k, v in old.items())
        for t in TESSELLATIONS:
            new = rigs[t].render(sim.data)
            rgb_diff[t] += [np.abs(new[f"{c}_rgb"].astype(int) - old[f"{c}_rgb"]).mean() for c in cams]
            mask_diff[t] += [(new[f"{c}_mask"] != old[f"{c}_mask"]).mean() for c in cams]
    n = len(picked) * len(cams) * 3
    out = [f"Checked on {len(picked)} states before timing: arrays differing from the old path: "
           + ", ".join(f"{k} {v} of {n}" for k, v in differ.items()) + "."]
    for t in TESSELLATIONS:
        out.append(f"Tessellation {t}: mean |RGB difference| {np.mean(rgb_diff[t]):.2f} levels "
                   f"(of 255), mask pixels differing {100 * np.mean(mask_diff[t]):.2f} %.")
    return out


if __name__ == "__main__":
    main()
