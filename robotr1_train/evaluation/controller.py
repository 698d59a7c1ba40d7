"""The MuJoCo keypoint controller now lives with its backend
(``robotr1_data.backends.mujoco.controller``); these names stay importable from here."""

from robotr1_data.backends.mujoco.controller import (  # noqa: F401
    ControllerConfig, ExecResult, KeypointController)

__all__ = ["ControllerConfig", "ExecResult", "KeypointController"]
