"""The embedded MuJoCo backend (the default): our tasks, the scripted expert, the recorder, and
closed-loop execution with the expert's planner.

The simulator, cameras, GL, IK and scene still live in ``robotr1_data/sim/``; the planner
(``planner.py``), the keypoint controller, the demo source and the keypoint env live here.
"""

from __future__ import annotations

from typing import List, Sequence

from robotr1_data.backends.registry import Backend, register_backend


@register_backend("mujoco")
class MujocoBackend(Backend):
    description = "the embedded MuJoCo scene with robotr1's tasks and scripted expert (default)"
    needs_gl = True
    has_expert_waypoints = True

    def check_tasks(self, tasks: Sequence[str]) -> List[str]:
        from robotr1_data.tasks.registry import get_task, task_names

        names = list(tasks) if tasks else task_names()
        for t in names:
            get_task(t)
        return names

    def known_cameras(self):
        from robotr1_data.sim.scene import scene_cameras

        return scene_cameras()

    def demo_source(self, task, **options):
        from robotr1_data.backends.mujoco.demo_source import MujocoDemoSource

        return MujocoDemoSource(task, **options)

    def keypoint_env(self, task, **options):
        from robotr1_data.backends.mujoco.keypoint_env import MujocoKeypointEnv

        return MujocoKeypointEnv.for_task(task, **options)
