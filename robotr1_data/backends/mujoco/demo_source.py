"""Expert demos from the embedded MuJoCo backend: the scripted expert in ``MujocoSim``,
recorded by ``robotr1_data.record.record_demo``."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from robotr1_data.backends.protocols import Closing


class MujocoDemoSource(Closing):
    def __init__(self, task: str, cameras: Sequence[str] = (), image_size: Tuple[int, int] = (128, 128),
                 rgb: bool = True, depth: bool = True, mask: bool = True,
                 render_quality: bool = False, image_every: int = 1,
                 tessellation: Optional[Tuple[int, int]] = None):
        from robotr1_data.expert import Expert
        from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
        from robotr1_data.tasks.registry import get_task

        self.sim = MujocoSim(get_task(task), cameras=cameras, image_size=image_size, rgb=rgb,
                             depth=depth, mask=mask, render_quality=render_quality,
                             tessellation=tessellation)
        self.expert = Expert(self.sim)
        self.image_every = image_every

    def variation_count(self) -> int:
        return self.sim.task.variation_count()

    def record(self, variation: int, seed: int):
        from robotr1_data.record import record_demo
        return record_demo(self.sim, self.expert, variation, seed, image_every=self.image_every)
