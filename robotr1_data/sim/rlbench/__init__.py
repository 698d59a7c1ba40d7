"""The RLBench backend: record demos and evaluate policies in CoppeliaSim through PyRep.

Importing this package never needs PyRep; building anything that runs the simulator calls
``require_rlbench()`` first, which turns a missing or broken install into one ``UsageError``
that says what to install and how (``--backend rlbench`` then exits with that message).

Public API:

* ``RLBenchDemoSource(task, cameras=, image_size=, rgb=, depth=, mask=, render_quality=,
  image_every=)`` -- what ``robotr1-data generate --backend rlbench`` records with;
* ``RLBenchSim`` -- the ``SimBackend`` over one RLBench ``TaskEnvironment``;
* ``RLBenchEvalEnv`` -- closed-loop execution of end-effector targets (planning + discrete
  gripper), ``InvalidActionError`` reported as ``'unreachable_target'``;
* ``resolve_task_class`` / ``BUILTIN_TO_RLBENCH`` -- task names.

The live path needs CoppeliaSim 4.1; see docs/rlbench_backend.md and docs/headless.md.
"""

from __future__ import annotations

from robotr1_data.errors import UsageError

INSTALL_HELP = """\
the rlbench backend needs CoppeliaSim 4.1 with PyRep and RLBench ({missing}). To install:
  1. download CoppeliaSim 4.1.0 (EDU, Ubuntu build) from coppeliarobotics.com and unpack it, e.g. to ~/CoppeliaSim
  2. export COPPELIASIM_ROOT=~/CoppeliaSim
     export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$COPPELIASIM_ROOT
     export QT_QPA_PLATFORM_PLUGIN_PATH=$COPPELIASIM_ROOT
     (put these in ~/.bashrc; PyRep needs them at install time and at run time)
  3. pip install git+https://github.com/stepjam/PyRep.git git+https://github.com/stepjam/RLBench.git
  4. on a server without a display, run under a virtual X server with GLX:
     xvfb-run -a -s "-screen 0 1400x900x24" robotr1-data generate --backend rlbench ...
see docs/rlbench_backend.md and docs/headless.md; or use the embedded backend (--backend mujoco)."""


def install_message(exc: BaseException) -> str:
    name = getattr(exc, "name", None)
    missing = (f"'{name}' could not be imported: {exc}" if name else f"import failed: {exc}")
    return INSTALL_HELP.format(missing=missing)


def require_rlbench() -> None:
    """Import PyRep and RLBench or raise one UsageError saying what to install and how.

    PyRep loads CoppeliaSim's shared library at import, so a missing LD_LIBRARY_PATH or
    COPPELIASIM_ROOT shows up here as an ImportError/OSError too.
    """
    try:
        import pyrep  # noqa: F401
        import rlbench  # noqa: F401
        import rlbench.environment  # noqa: F401
    except (ImportError, OSError) as exc:
        raise UsageError(install_message(exc)) from None


from robotr1_data.sim.rlbench.names import (  # noqa: E402
    BUILTIN_TO_RLBENCH, available_rlbench_tasks, resolve_task_class, rlbench_class_name)
from robotr1_data.sim.rlbench.backend import (  # noqa: E402
    RLBenchDemoSource, RLBenchSim, shutdown_simulator)
from robotr1_data.sim.rlbench.eval_env import RLBenchEvalEnv  # noqa: E402

__all__ = ["BUILTIN_TO_RLBENCH", "INSTALL_HELP", "RLBenchDemoSource", "RLBenchEvalEnv",
           "RLBenchSim", "available_rlbench_tasks", "require_rlbench", "resolve_task_class",
           "rlbench_class_name", "shutdown_simulator"]
