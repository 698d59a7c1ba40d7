"""Build a demo source for a backend: the one place that knows which backends exist.

A demo source records one expert demo per call (``record(variation, seed) -> Episode``, raising
``DemoError`` on failure) for a single task, and owns its simulator (one per process).
"""

from __future__ import annotations

from typing import Sequence, Tuple

from robotr1_data.errors import UsageError
from robotr1_data.sim.base import Closing

BACKENDS = ("mujoco", "rlbench")


class MujocoDemoSource(Closing):
    """Expert demos from the embedded MuJoCo backend."""

    def __init__(self, task: str, cameras: Sequence[str] = (), image_size: Tuple[int, int] = (128, 128),
                 rgb: bool = True, depth: bool = True, mask: bool = True,
                 render_quality: bool = False, image_every: int = 1):
        from robotr1_data.expert import Expert
        from robotr1_data.sim.mujoco_sim import MujocoSim
        from robotr1_data.tasks.registry import get_task

        self.sim = MujocoSim(get_task(task), cameras=cameras, image_size=image_size, rgb=rgb,
                             depth=depth, mask=mask, render_quality=render_quality)
        self.expert = Expert(self.sim)
        self.image_every = image_every

    def variation_count(self) -> int:
        return self.sim.task.variation_count()

    def record(self, variation: int, seed: int):
        from robotr1_data.record import record_demo
        return record_demo(self.sim, self.expert, variation, seed, image_every=self.image_every)



def make_demo_source(backend: str, task: str, **kwargs):
    if backend == "mujoco":
        return MujocoDemoSource(task, **kwargs)
    if backend == "rlbench":
        try:
            from robotr1_data.sim.rlbench import RLBenchDemoSource
        except ImportError as exc:
            raise UsageError(f"the rlbench backend is not available: {exc}") from None
        return RLBenchDemoSource(task, **kwargs)
    raise UsageError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
