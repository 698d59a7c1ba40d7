"""``robotr1-data gallery``: a front-camera picture of every task (variation 0, after reset)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def render_gallery(out: Path, size=(256, 256), seed: int = 0, tasks=None) -> list:
    from robotr1_data.sim.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import all_tasks

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (cls, _source) in all_tasks().items():
        if tasks and name not in tasks:
            continue
        with MujocoSim(cls, cameras=["front"], image_size=tuple(size), depth=False, mask=False) as sim:
            sim.reset(0, np.random.default_rng(seed))
            img = sim.render()["front_rgb"]
        path = out / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


def cmd_gallery(args) -> int:
    for path in render_gallery(Path(args.out), size=tuple(args.image_size), seed=args.seed,
                               tasks=args.tasks):
        print(path)
    return 0


def register(sub) -> None:
    g = sub.add_parser("gallery", help="render a front-camera picture of each task")
    g.add_argument("--out", required=True)
    g.add_argument("--image-size", nargs=2, type=int, default=[256, 256], metavar=("H", "W"))
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--tasks", nargs="*", default=None)
    g.set_defaults(func=cmd_gallery)
