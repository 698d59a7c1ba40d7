"""The RLBench backend: record demos and evaluate policies in RLBench's own tasks in
CoppeliaSim through PyRep (docs/rlbench_backend.md).

Importing this package never needs PyRep (the registry imports it on every machine); building
anything that runs the simulator calls ``require_rlbench()`` first, which turns a missing or
broken install into one ``UsageError`` that says what to install and how (``--backend rlbench``
then exits with that message).

Modules:

* ``backend.py``: ``RLBenchDemoSource(task, cameras=, image_size=, rgb=, depth=, mask=,
  render_quality=, image_every=)`` -- what ``robotr1-data generate --backend rlbench`` records
  with; ``RLBenchSim`` -- one RLBench ``TaskEnvironment`` (the simulator under both);
  ``shutdown_simulator``;
* ``eval_env.py``: ``RLBenchEvalEnv`` -- closed-loop execution of end-effector targets
  (planning + discrete gripper), ``InvalidActionError`` reported as ``'unreachable_target'``;
* ``names.py``: ``resolve_task_class`` / ``BUILTIN_TO_RLBENCH`` -- task names;
* ``observations.py``: RLBench observations to our arrays (the mask and depth codecs it uses
  are ``robotr1_data/rlbench_io/codec.py``, shared with the dataset import/export);
* ``install.py``: ``require_rlbench``, ``INSTALL_HELP``.

The live path needs CoppeliaSim 4.1; see docs/rlbench_backend.md and docs/headless.md.

PyRep allows one simulator per process, so the keypoint env is kept per process and reused
across evaluation units; a different task or camera set replaces it.
"""

from __future__ import annotations

from typing import List, Sequence

from robotr1_data.backends.registry import Backend, register_backend

_ENVS: dict = {}  # (task, cameras, image size) -> RLBenchEvalEnv; at most one per process


@register_backend("rlbench")
class RLBenchBackend(Backend):
    description = "RLBench's tasks in CoppeliaSim 4.1 (needs PyRep + RLBench; docs/rlbench_backend.md)"

    def require(self) -> None:
        from robotr1_data.backends.rlbench.install import require_rlbench

        require_rlbench()

    def check_tasks(self, tasks: Sequence[str]) -> List[str]:
        from robotr1_data.backends.rlbench.names import resolve_task_class

        names = super().check_tasks(tasks)
        self.require()
        for t in names:
            resolve_task_class(t)
        return names

    def demo_source(self, task, **options):
        self.require()
        from robotr1_data.backends.rlbench.backend import RLBenchDemoSource

        return RLBenchDemoSource(task, **options)

    def keypoint_env(self, task, *, cameras=(), image_size=(224, 224), observe_images=False,
                     max_steps_per_keypoint=120, range_margin=0.05):
        # RLBench plans and executes a whole keypoint itself: no step budget, and its planner
        # (not a box) decides what is reachable.
        self.require()
        from robotr1_data.backends.rlbench.eval_env import RLBenchEvalEnv

        key = (task, tuple(cameras), tuple(image_size))
        if key not in _ENVS:
            for other in list(_ENVS.values()):
                other.close()
            _ENVS.clear()
            _ENVS[key] = RLBenchEvalEnv(task, cameras=tuple(cameras), image_size=tuple(image_size))
        return _ENVS[key]

    def release_keypoint_env(self, env) -> None:
        pass  # kept for the next unit: CoppeliaSim cannot be relaunched in this process
