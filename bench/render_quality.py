"""Render cost of the CPU default (no shadows, reflections, multisampling) against
``--render-quality``, measured in the same run: front camera RGB, 128x128, pick_up_cup scene.

    python bench/render_quality.py [--frames 200]
"""

import argparse
import time

import numpy as np

from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
from robotr1_data.tasks.registry import get_task


def fps(quality: bool, frames: int) -> float:
    with MujocoSim(get_task("pick_up_cup"), cameras=["front"], image_size=(128, 128),
                   depth=False, mask=False, render_quality=quality) as sim:
        sim.reset(0, np.random.default_rng(0))
        sim.render()
        t0 = time.perf_counter()
        for _ in range(frames):
            sim.render()
        return frames / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=200)
    args = p.parse_args()
    fast, slow = fps(False, args.frames), fps(True, args.frames)
    print(f"| default (CPU settings) | {fast:.0f} fps |\n| --render-quality | {slow:.0f} fps |\n"
          f"speed-up of the default: {fast / slow:.1f}x")


if __name__ == "__main__":
    main()
