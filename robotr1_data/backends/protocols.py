"""What the rest of robotr1 needs from a simulator backend, declared.

Two objects, both owning their simulator (one per process) and closed with ``close()`` (or a
``with`` block):

* a ``DemoSource`` records expert demonstrations of one task (``robotr1-data generate``);
* a ``KeypointEnv`` executes a policy's keypoint targets in one task
  (``robotr1-train eval-sim``), the shape of RLBench's ``EndEffectorPoseViaPlanning`` loop.

Observations are dicts with RLBench's field names: ``gripper_pose`` (x, y, z, qx, qy, qz, qw,
world frame), ``gripper_open`` (1.0 open, 0.0 closed), ``joint_positions`` and, for each camera,
``<camera>_rgb`` (uint8 H x W x 3).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, runtime_checkable

import numpy as np

Obs = Dict[str, Any]


class Closing:
    """``with`` support; by default closing closes the simulator held in ``self.sim``."""

    def close(self) -> None:
        self.sim.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@runtime_checkable
class DemoSource(Protocol):
    """Expert demos of one task: ``record`` returns an ``Episode`` or raises ``DemoError``
    (the caller retries with the next seed and counts the failure)."""

    def variation_count(self) -> int: ...

    def record(self, variation: int, seed: int): ...  # -> robotr1_data.episode.Episode

    def close(self) -> None: ...


@dataclasses.dataclass
class KeypointReport:
    """How the last ``execute`` went, for the evaluation record of that keypoint.

    ``status``: ``done`` (target reached, gripper set), ``stopped`` (the episode ended on the
    way), ``step_budget`` (out of control steps), ``unreachable``, ``reached`` (the backend
    reports no finer status) or ``hold``. ``tracking_error`` is None when the backend cannot
    measure it."""

    status: str
    steps: int = 0  # control steps spent
    tracking_error: Optional[float] = None  # m, gripper to target after the move


@runtime_checkable
class KeypointEnv(Protocol):
    """Closed-loop execution of keypoint targets in one task.

    ``target`` is any object with ``xyz`` (3,), ``gripper_open``, ``quat`` (w, x, y, z or None:
    the backend's default approach), ``linear`` (None: the backend chooses), ``open_amount``
    and ``hold`` (stay where you are), as ``robotr1_train.policies.KeypointTarget``.
    ``execute`` returns ``(obs, success, terminate, reason)``: ``terminate`` ends the episode
    (success or a failure condition); ``reason`` is None, or why the target could not be
    executed (the scene is then unchanged and the evaluator counts it as ``unreachable``).
    """

    #: images every control step (True) or one frame per keypoint (False): the video's pace
    frames_per_step: bool

    def variation_count(self) -> int: ...

    def reset(self, variation: int, seed: int) -> Tuple[List[str], Obs]: ...

    def execute(self, target) -> Tuple[Obs, bool, bool, Optional[str]]: ...

    def close(self) -> None: ...

    # --- what the evaluation record and the policies may use --------------------------
    last: KeypointReport  # the last execute's report

    def default_quat(self) -> np.ndarray: ...  # w, x, y, z used when a target has none

    def expert_waypoints(self) -> Sequence: ...  # the task's expert waypoints ([]: none known)

    def expert_target(self) -> Optional[np.ndarray]: ...  # the expert's next keypoint, if known

    def check_target(self, xyz: np.ndarray) -> Optional[str]: ...  # why not to try it, or None

    # --- videos: the evaluator's hook runs after every control step (``frames_per_step``) or
    # after every executed keypoint, and may call ``render`` / ``camera_parameters``
    def set_frame_hook(self, hook: Optional[Callable[[], None]]) -> None: ...

    def render(self) -> Dict[str, np.ndarray]: ...  # {"<camera>_rgb": uint8 H x W x 3}

    def camera_parameters(self) -> Dict[str, Dict[str, np.ndarray]]: ...  # {camera: {intrinsics, extrinsics}}
