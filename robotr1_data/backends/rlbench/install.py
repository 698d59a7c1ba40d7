"""Whether PyRep and RLBench can be imported, and what to install when not.

Its own module, without PyRep or numpy, so the registry entry (the package ``__init__``) can
check the install without importing the simulator modules.
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
