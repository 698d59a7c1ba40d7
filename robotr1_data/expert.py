"""The waypoint-following expert: RLBench's demo planner, reduced to what our tasks need.

For each waypoint the expert plans a joint-space path (or, for ``linear`` waypoints, a straight
Cartesian line solved point by point with mink IK; ``backends/mujoco/planner.py``, public as
``Expert.plan``), follows it with a trapezoidal velocity profile at 0.05 s control steps, lets
the arm settle so the keypoint rule sees the stop, then performs the waypoint's gripper action.
After the last waypoint a few extra steps are allowed for the success conditions (RLBench does
the same); otherwise the demo fails with a reason.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import numpy as np

from robotr1_data.backends.mujoco.planner import plan_to
from robotr1_data.errors import DemoError  # noqa: F401 - also importable from here
from robotr1_data.backends.mujoco.ik import PandaIK
from robotr1_data.backends.mujoco.mujoco_sim import FINGER_MAX


class Expert:
    def __init__(self, sim, ik: Optional[PandaIK] = None, joint_speed: float = 1.0,
                 linear_speed: float = 0.2, settle_steps: int = 2, gripper_steps: int = 4,
                 extra_steps: int = 10, tolerance: float = 0.015):
        self.sim = sim
        self.ik = ik or PandaIK()
        self.joint_speed = joint_speed
        self.linear_speed = linear_speed
        self.settle_steps = settle_steps
        self.gripper_steps = gripper_steps
        self.extra_steps = extra_steps
        self.tolerance = tolerance

    def run(self, on_step: Callable[[], None]) -> List[int]:
        """Execute the task's waypoints, calling ``on_step`` after every control step.

        Returns the planner keypoints: the frame index at which each waypoint (and its gripper
        action) was completed. Frame 0 is the observation before the first step.
        """
        sim, task = self.sim, self.sim.task
        frame = 0
        planner_keypoints: List[int] = []
        polling = task.needs_polling

        def advance(arm=None, fingers=None):
            nonlocal frame
            sim.step(arm, fingers)
            frame += 1
            if polling:  # ordered / latched condition sets must see every step (RLBench polls)
                task.success()
            on_step()

        for index, wp in enumerate(task.waypoints):
            path = self.plan(np.asarray(wp.pos, float), np.asarray(wp.quat, float), wp.linear,
                              label=wp.name or f"waypoint{index}")
            for q in path:
                advance(arm=q)
            for _ in range(self.settle_steps):
                advance(arm=path[-1] if len(path) else None)
            error = np.linalg.norm(sim.tcp_position() - np.asarray(wp.pos))
            if error > self.tolerance:
                raise DemoError("tracking", f"{wp.name or index} missed by {error:.3f} m")
            if wp.gripper == "close":
                for _ in range(self.gripper_steps):
                    advance(fingers=0.0)
                    sim.try_grasp()
            elif wp.gripper == "open":
                sim.release()
                for _ in range(self.gripper_steps):
                    advance(fingers=FINGER_MAX * wp.open_amount)
            planner_keypoints.append(frame)
            if task.failed():
                raise DemoError("fail_condition", f"after {wp.name or index}")

        success, _ = task.success()
        for _ in range(self.extra_steps):
            if success:
                break
            advance()
            success, _ = task.success()
        if not success:
            raise DemoError("not_successful", "waypoints completed but success conditions unmet")
        return planner_keypoints

    def plan(self, pos: np.ndarray, quat: np.ndarray, linear: bool, label: str) -> List[np.ndarray]:
        """Joint targets to the gripper pose at this expert's speeds (``planner.plan_to``)."""
        return plan_to(self.sim, self.ik, pos, quat, linear, label, joint_speed=self.joint_speed,
                       linear_speed=self.linear_speed)
