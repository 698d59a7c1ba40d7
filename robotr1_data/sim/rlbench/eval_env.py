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

from robotr1_data.errors import UsageError
from robotr1_data.sim.base import Closing
from robotr1_data.sim.rlbench import observations as O
from robotr1_data.sim.rlbench.backend import RLBenchSim

UNREACHABLE = "unreachable_target"


class RLBenchEvalEnv(Closing):
    """One RLBench task for closed-loop evaluation (one simulator per process).

    ``reset(variation, seed) -> (descriptions, obs)`` and
    ``execute(target_xyz, gripper_open, quat_wxyz=None) -> (obs, success, terminate, reason)``
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
        self.steps = 0

    @property
    def cameras(self) -> List[str]:
        return list(self.sim.cameras)

    def variation_count(self) -> int:
        return self.sim.variation_count()

    def _dict(self, obs) -> Dict[str, object]:
        return O.obs_to_dict(obs, self.sim.cameras, self.sim.kinds, self.sim.depth_in_meters)

    def reset(self, variation: int, seed: int) -> Tuple[List[str], Dict[str, object]]:
        descriptions, self._obs = self.sim.reset_seeded(variation, seed)
        self.steps = 0
        return descriptions, self._dict(self._obs)

    def execute(self, target_xyz, gripper_open, quat_wxyz=None
                ) -> Tuple[Dict[str, object], bool, bool, Optional[str]]:
        if self._obs is None:
            raise UsageError("call reset(variation, seed) before execute()")
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
            return self._dict(self._obs), False, False, UNREACHABLE
        self._obs = obs
        self.sim._obs = obs
        # RLBench's reward is float(success) unless shaped rewards are on (we never turn them on).
        success = float(reward) >= 1.0
        return self._dict(obs), bool(success), bool(terminate), None

