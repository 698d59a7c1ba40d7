"""``robotr1-data gallery``: a front-camera picture of every task (variation 0, after reset)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np

from robotr1_data.config import opt
from robotr1_data.errors import UsageError, did_you_mean


@dataclasses.dataclass
class GalleryConfig:
    out: str = opt(help="output directory: one <task>.png per task")
    image_size: Tuple[int, int] = opt((256, 256), "image height and width, 16..1024 pixels",
                                      metavar=("H", "W"))
    seed: int = opt(0, "seed of the scene layout", min=0)
    tasks: Optional[List[str]] = opt(None, "only these tasks (default: every task)", nargs="*",
                                     metavar="TASK")

    def validate(self) -> None:
        from robotr1_data.episode import check_views
        check_views([], self.image_size)
        if not str(self.out).strip():
            raise UsageError("--out is empty; name an output directory")
        if self.tasks:
            from robotr1_data.tasks.registry import all_tasks
            names = list(all_tasks())
            for t in self.tasks:
                if t not in names:
                    raise UsageError(f"unknown task '{t}'{did_you_mean(t, names)} "
                                     "(robotr1-data list-tasks shows them all)")


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB image as PNG or raise a UsageError naming the file: cv2.imwrite reports a
    failed write (read-only place, full disk) only by returning False."""
    ok = False
    try:
        ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    except cv2.error:
        ok = False
    if not ok:
        raise UsageError(f"could not write {path} (read-only, full, or not a directory?); "
                         "choose another --out")
    return path


def render_gallery(out: Path, size=(256, 256), seed: int = 0, tasks=None) -> list:
    from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import all_tasks

    from robotr1_data.errors import output_dir
    output_dir(out)
    written = []
    for name, (cls, _source) in all_tasks().items():
        if tasks and name not in tasks:
            continue
        with MujocoSim(cls, cameras=["front"], image_size=tuple(size), depth=False, mask=False) as sim:
            sim.reset(0, np.random.default_rng(seed))
            img = sim.render()["front_rgb"]
        path = out / f"{name}.png"
        written.append(write_png(path, img))
    return written


def cmd_gallery(args) -> int:
    from robotr1_data.config import from_args
    cfg = from_args(GalleryConfig, args)
    for path in render_gallery(Path(cfg.out), size=cfg.image_size, seed=cfg.seed,
                               tasks=cfg.tasks):
        print(path)
    return 0


def register(sub) -> None:
    from robotr1_data.config import add_config_args
    g = sub.add_parser("gallery", help="render a front-camera picture of each task")
    add_config_args(g, GalleryConfig)
    g.set_defaults(func=cmd_gallery)
