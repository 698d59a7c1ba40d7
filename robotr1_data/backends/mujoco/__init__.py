"""The embedded MuJoCo backend (the default): our tasks, the scripted expert, the recorder, and
closed-loop execution with the expert's planner.

Modules: ``mujoco_sim.py`` (``MujocoSim``: physics, state, rendering through ``cameras.py``),
``scene.py`` (the world file compiled with a task's objects; names read from the model),
``ik.py``, ``gl.py`` (MuJoCo's GL platform),
``planner.py`` (the expert's motion planner), ``controller.py``, ``demo_source.py`` and
``keypoint_env.py`` (the two backend interfaces).

Importing this package exports MuJoCo's GL platform first (see gl.py): MuJoCo reads
``MUJOCO_GL`` only once, when it is imported. The choice is made from the installed libraries
(no subprocess); the working check runs when a renderer is made.
"""

from __future__ import annotations

from typing import List, Sequence

from robotr1_data.backends.mujoco.gl import select_gl as _select_gl
from robotr1_data.backends.registry import Backend, register_backend

_select_gl()


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
        from robotr1_data.backends.mujoco.scene import scene_cameras

        return scene_cameras()

    def demo_source(self, task, **options):
        from robotr1_data.backends.mujoco.demo_source import MujocoDemoSource

        return MujocoDemoSource(task, **options)

    def keypoint_env(self, task, **options):
        from robotr1_data.backends.mujoco.keypoint_env import MujocoKeypointEnv

        return MujocoKeypointEnv.for_task(task, **options)
