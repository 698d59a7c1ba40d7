"""Inverse kinematics for the Panda's TCP with mink (differential IK as a small QP).

IK runs on a robot-only model compiled from the same ``robotr1_data/assets/panda.xml`` as the
scene, placed where the world file puts the robot (``scene.placed_robot_model``), so the solution
never "moves" task objects and a solve costs ~0.2 ms per iteration.
"""

from __future__ import annotations

from typing import Optional, Sequence

import mink
import mujoco
import numpy as np

from robotr1_data.errors import IKError  # noqa: F401 - also importable from here
from robotr1_data.world import asset_path
from robotr1_data.backends.mujoco.scene import home_arm_q, placed_robot_model

ARM_DOF = 7
_HOME_CACHE: dict = {}


def __getattr__(name):
    # HOME_Q comes from the robot's ``home`` keyframe; compiling the model waits until someone
    # asks, so importing this module does no work (and ROBOTR1_ASSETS is honoured).
    if name == "HOME_Q":
        path = str(asset_path("panda.xml"))
        if path not in _HOME_CACHE:
            _HOME_CACHE[path] = home_arm_q(mujoco.MjModel.from_xml_path(path))
        return _HOME_CACHE[path].copy()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PandaIK:
    def __init__(self, pos_tol: float = 1e-3, rot_tol: float = 1e-2, max_iters: int = 100,
                 max_step: float = 0.15):
        self.model = placed_robot_model()
        self.configuration = mink.Configuration(self.model)
        self.frame = mink.FrameTask("tcp", "site", position_cost=1.0, orientation_cost=0.5,
                                    lm_damping=1e-3)
        # A light pull toward the home posture keeps the redundant DOF (elbow) away from limits
        # and makes solutions repeatable for the same target.
        self.posture = mink.PostureTask(self.model, cost=1e-3)
        self.limits = [mink.ConfigurationLimit(self.model)]
        self.pos_tol, self.rot_tol, self.max_iters = pos_tol, rot_tol, max_iters
        self.max_step = max_step
        self.home_q = home_arm_q(self.model)
        q = np.zeros(self.model.nq)
        q[:ARM_DOF] = self.home_q
        self.posture.set_target(q)

    def fk(self, q_arm: np.ndarray) -> np.ndarray:
        """TCP pose (4x4, world) for arm joints ``q_arm``."""
        q = np.zeros(self.model.nq)
        q[:ARM_DOF] = q_arm
        self.configuration.update(q)
        return self.configuration.get_transform_frame_to_world("tcp", "site").as_matrix()

    def solve(self, pos: Sequence[float], quat_wxyz: Sequence[float], q_seed: np.ndarray,
              posture: Optional[np.ndarray] = None) -> np.ndarray:
        """Arm joints reaching the TCP pose; raises IKError when the pose is out of reach."""
        q = np.zeros(self.model.nq)
        q[:ARM_DOF] = q_seed[:ARM_DOF]
        self.configuration.update(q)
        if posture is not None:
            target_q = np.zeros(self.model.nq)
            target_q[:ARM_DOF] = posture
            self.posture.set_target(target_q)
        target = mink.SE3.from_rotation_and_translation(
            mink.SO3(np.asarray(quat_wxyz, dtype=np.float64)), np.asarray(pos, dtype=np.float64))
        self.frame.set_target(target)
        dt = 0.5
        for _ in range(self.max_iters):
            err = self.frame.compute_error(self.configuration)
            if np.linalg.norm(err[:3]) < self.pos_tol and np.linalg.norm(err[3:]) < self.rot_tol:
                break
            vel = mink.solve_ik(self.configuration, [self.frame, self.posture], dt, "daqp",
                                damping=1e-3, limits=self.limits)
            # A full Gauss-Newton step from far away overshoots into joint limits and stalls
            # there; capping each step keeps the linearisation honest.
            step = np.abs(vel[:ARM_DOF]).max() * dt
            if step > self.max_step:
                vel = vel * (self.max_step / step)
            self.configuration.integrate_inplace(vel, dt)
        err = self.frame.compute_error(self.configuration)
        if np.linalg.norm(err[:3]) > 5 * self.pos_tol or np.linalg.norm(err[3:]) > 5 * self.rot_tol:
            raise IKError(f"target {np.round(pos, 3).tolist()} unreachable "
                          f"(residual {np.linalg.norm(err[:3]):.3f} m)")
        return self.configuration.q[:ARM_DOF].copy()
