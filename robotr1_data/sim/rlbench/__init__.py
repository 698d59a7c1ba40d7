"""The RLBench backend: record demos and evaluate policies in CoppeliaSim through PyRep.

Importing this package never needs PyRep; building anything that runs the simulator calls
``require_rlbench()`` first, which turns a missing or broken install into one ``UsageError``
that says what to install and how (``--backend rlbench`` then exits with that message).

Public API:

* ``RLBenchDemoSource(task, cameras=, image_size=, rgb=, depth=, mask=, render_quality=,
  image_every=)`` -- what ``robotr1-data generate --backend rlbench`` records with;
* ``RLBenchSim`` -- one RLBench ``TaskEnvironment`` (the simulator under both);
* ``RLBenchEvalEnv`` -- closed-loop execution of end-effector targets (planning + discrete
  gripper), ``InvalidActionError`` reported as ``'unreachable_target'``;
* ``resolve_task_class`` / ``BUILTIN_TO_RLBENCH`` -- task names.

The live path needs CoppeliaSim 4.1; see docs/rlbench_backend.md and docs/headless.md.
"""

from __future__ import annotations

from robotr1_data.sim.rlbench.install import INSTALL_HELP, install_message, require_rlbench
from robotr1_data.sim.rlbench.names import (  # noqa: E402
    BUILTIN_TO_RLBENCH, available_rlbench_tasks, resolve_task_class, rlbench_class_name)
from robotr1_data.sim.rlbench.backend import (  # noqa: E402
    RLBenchDemoSource, RLBenchSim, shutdown_simulator)
from robotr1_data.sim.rlbench.eval_env import RLBenchEvalEnv  # noqa: E402

__all__ = ["BUILTIN_TO_RLBENCH", "INSTALL_HELP", "RLBenchDemoSource", "RLBenchEvalEnv",
           "RLBenchSim", "available_rlbench_tasks", "require_rlbench", "resolve_task_class",
           "rlbench_class_name", "shutdown_simulator"]
