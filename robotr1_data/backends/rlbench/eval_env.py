"""Closed-loop evaluation in RLBench: execute end-effector targets, report success.

A policy proposes the next target (xyz in world metres, as Robot-R1's keypoint answers, plus
the gripper state and optionally an orientation); ``execute`` moves there with RLBench's
``EndEffectorPoseViaPlanning`` (absolute, world frame) and then applies a ``Discrete``
gripper, through ``MoveArmThenGripper`` -- the action mode PerAct/ARM evaluate with.

RLBench raises ``InvalidActionError`` (or a subclass) when no path exists: the target is
outside the workspace, the IK/planner failed, the quaternion is bad. That is a policy failure,
not a crash: ``execute`` returns ``failure_reason='unreachable_target'`` and the scene stays as
it was, so the evaluator counts it and decides whether to continue.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.backends.protocols import Closing, KeypointReport
from robotr1_data.errors import UsageError
from robotr1_data.backends.rlbench import observations as O
from robotr1_data.backends.rlbench.backend import RLBenchSim

UNREACHABLE = "unreachable_target"


class RLBenchEvalEnv(Closing):
    frames_per_step = False  # RLBench returns one observation per executed keypoint

    """One RLBench task for closed-loop evaluation (one simulator per process).

    ``reset(variation, seed) -> (descriptions, obs)`` and
    ``execute(target_xyz, gripper_open, quat_wxyz=None) -> (obs, success, terminate, reason)``
    (or ``execute(target)`` with a ``KeypointTarget``-shaped object: the ``KeypointEnv`` of
    ``robotr1_data.backends``; a ``hold`` target is not sent to RLBench)
    where ``obs`` is a dict: our low-dim fields (``gripper_pose`` is x,y,z,qx,qy,qz,qw),
    ``<cam>_rgb`` uint8, ``<cam>_depth`` float32 metres, ``<cam>_mask`` (raw CoppeliaSim
    handles) and ``<cam>_camera_{intrinsics,extrinsics,near,far}``.
    """

    def __init__(self, task: str, cameras: Sequence[str] = ("front",),
                 image_size=(224, 224), rgb: bool = True, depth: bool = False,
                 mask: bool = False, headless: bool = True, collision_checking: bool = False):
        self.sim = RLBenchSim(task, cameras=cameras, image_size=image_size, rgb=rgb,
                              depth=depth, mask=mask, headless=headless,
                              collision_checking=collision_checking)
        from rlbench.backend.exceptions import InvalidActionError
        self._invalid_action = InvalidActionError
        self.task = task
        self._obs = None
        self._obs_dict: Dict[str, object] = {}
        self._hook = None
        self.last = KeypointReport("none")
        self.steps = 0

    @property
    def cameras(self) -> List[str]:
        return list(self.sim.cameras)

    def variation_count(self) -> int:
        return self.sim.variation_count()

    def _dict(self, obs) -> Dict[str, object]:
        self._obs_dict = O.obs_to_dict(obs, self.sim.cameras, self.sim.kinds, self.sim.depth_in_meters)
        return self._obs_dict

    def reset(self, variation: int, seed: int) -> Tuple[List[str], Dict[str, object]]:
        descriptions, self._obs = self.sim.reset_seeded(variation, seed)
        self.steps = 0
        return descriptions, self._dict(self._obs)

    def execute(self, target_xyz, gripper_open=None, quat_wxyz=None
                ) -> Tuple[Dict[str, object], bool, bool, Optional[str]]:
        if self._obs is None:
            raise UsageError("call reset(variation, seed) before execute()")
        if hasattr(target_xyz, "xyz"):  # a KeypointTarget
            target = target_xyz
            if target.hold:  # stay put: nothing for RLBench's planner to do
                self.last = KeypointReport("hold", 0)
                if self._hook is not None:  # still one video frame per keypoint
                    self._hook()
                return self._obs_dict, False, False, None
            target_xyz, gripper_open, quat_wxyz = target.xyz, target.gripper_open, target.quat
        if gripper_open is None:
            raise UsageError("execute() needs gripper_open (or a KeypointTarget)")
        xyz = np.asarray(target_xyz, dtype=np.float64).reshape(-1)
        if xyz.shape != (3,) or not np.all(np.isfinite(xyz)):
            raise UsageError(f"target_xyz must be 3 finite numbers (world metres), "
                             f"got {target_xyz!r}")
        if quat_wxyz is None:  # keep the current gripper orientation (xyzw in gripper_pose)
            quat_xyzw = np.asarray(self._obs.gripper_pose, dtype=np.float64)[3:7]
        else:
            w, x, y, z = np.asarray(quat_wxyz, dtype=np.float64).reshape(4)
            quat_xyzw = np.array([x, y, z, w])
        norm = np.linalg.norm(quat_xyzw)
        if not np.isfinite(norm) or norm < 1e-9:
            raise UsageError(f"quat_wxyz must be a non-zero quaternion, got {quat_wxyz!r}")
        quat_xyzw = quat_xyzw / norm
        grip = 1.0 if float(gripper_open) > 0.5 else 0.0
        action = np.concatenate([xyz, quat_xyzw, [grip]])
        self.steps += 1
        try:
            obs, reward, terminate = self.sim.task_env.step(action)
        except self._invalid_action:
            # Planning failed before the arm moved: same scene, the policy's target is at fault.
            self._obs = self.sim.task_env.get_observation()
            self.last = KeypointReport("unreachable", 1)
            return self._dict(self._obs), False, False, UNREACHABLE
        self._obs = obs
        self.sim._obs = obs
        # RLBench's reward is float(success) unless shaped rewards are on (we never turn them on).
        success = float(reward) >= 1.0
        self.last = KeypointReport("reached", 1)
        out = self._dict(obs)
        if self._hook is not None:
            self._hook()
        return out, bool(success), bool(terminate), None

    # --- the rest of robotr1_data.backends.KeypointEnv --------------------------------------
    def default_quat(self) -> np.ndarray:
        from robotr1_data.tasks.base import DOWN_QUAT

        return DOWN_QUAT.copy()

    def expert_waypoints(self) -> list:
        return []  # RLBench's demo planner does not expose its waypoints before it runs

    def expert_target(self) -> Optional[np.ndarray]:
        return None

    def check_target(self, xyz) -> Optional[str]:
        # RLBench's planner decides what is reachable (InvalidActionError -> unreachable_target).
        return None if np.all(np.isfinite(np.asarray(xyz, float))) else "target is not finite"

    def set_frame_hook(self, hook) -> None:
        self._hook = hook

    def render(self) -> Dict[str, object]:
        return {k: v for k, v in self._obs_dict.items() if k.endswith("_rgb")}

    def camera_parameters(self) -> Dict[str, Dict[str, object]]:
        d = self._obs_dict
        return {c: {"intrinsics": d[f"{c}_camera_intrinsics"], "extrinsics": d[f"{c}_camera_extrinsics"]}
                for c in self.sim.cameras if f"{c}_camera_intrinsics" in d}

