"""The waypoint-following expert: RLBench's demo planner, reduced to what our tasks need.

For each waypoint the expert plans a joint-space path (or, for ``linear`` waypoints, a straight
Cartesian line solved point by point with mink IK), follows it with a trapezoidal velocity profile
at 0.05 s control steps, lets the arm settle so the keypoint rule sees the stop, then performs
the waypoint's gripper action. After the last waypoint a few extra steps are allowed for the
success conditions (RLBench does the same); otherwise the demo fails with a reason.
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional

import numpy as np

from robotr1_data.errors import DemoError  # noqa: F401 - also importable from here
from robotr1_data.sim.ik import HOME_Q, IKError, PandaIK
from robotr1_data.sim.mujoco_sim import FINGER_MAX


def trapezoid(n: int, ramp: int = 2) -> np.ndarray:
    """Path fractions for n steps: velocity ramps up over ``ramp`` steps, cruises, ramps down.

    Short ramps (like RLBench's velocity-limited planner) keep joint speeds above the keypoint
    rule's 0.1 rad/s stop threshold except where the expert really stops; a minimum-jerk
    profile lingers near zero speed and makes the rule report spurious keyframes.
    """
    ramp = max(1, min(ramp, n // 2))
    speed = np.ones(n)
    up = np.arange(1, ramp + 1) / (ramp + 1)
    speed[:ramp] = up
    speed[n - ramp:] = up[::-1]
    return np.cumsum(speed) / speed.sum()


def slerp(q0: np.ndarray, q1: np.ndarray, s: float) -> np.ndarray:
    """Spherical interpolation of unit quaternions (w, x, y, z) along the short arc."""
    dot = float(np.dot(q0, q1))
    if dot < 0:
        q1, dot = -q1, -dot
    if dot > 0.9995:
        q = q0 + s * (q1 - q0)
        return q / np.linalg.norm(q)
    theta = math.acos(dot)
    return (math.sin((1 - s) * theta) * q0 + math.sin(s * theta) * q1) / math.sin(theta)


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
            path = self._plan(np.asarray(wp.pos, float), np.asarray(wp.quat, float), wp.linear,
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

    def _plan(self, pos: np.ndarray, quat: np.ndarray, linear: bool, label: str) -> List[np.ndarray]:
        sim, dt = self.sim, self.sim.control_dt
        q_start = sim.arm_target.copy()
        try:
            if not linear:
                q_goal = self.ik.solve(pos, quat, q_start, posture=HOME_Q)
                n = max(5, math.ceil(np.abs(q_goal - q_start).max() / (self.joint_speed * dt)))
                return [q_start + s * (q_goal - q_start) for s in trapezoid(n)]
            start = sim.tcp_pose()
            p0 = start[:3]
            q0 = np.array([start[6], start[3], start[4], start[5]])
            n = max(4, math.ceil(np.linalg.norm(pos - p0) / (self.linear_speed * dt)))
            fractions = trapezoid(n)
            # IK at every other point (and the last); the points between are joint-space
            # midpoints, which stay within micrometres of the line at ~1 cm spacing and halve the
            # expert's dominant cost when rendering is cheap.
            solved = {}
            q_prev = q_start
            for i in list(range(1, n, 2)) + [n - 1]:
                s = fractions[i]
                q_prev = self.ik.solve(p0 + s * (pos - p0), slerp(q0, quat, s), q_prev,
                                       posture=q_prev)
                solved[i] = q_prev
            path = []
            for i in range(n):
                if i in solved:
                    path.append(solved[i])
                else:
                    before = solved.get(i - 1, q_start)
                    path.append(0.5 * (before + solved[i + 1]))
            return path
        except IKError as exc:
            raise DemoError("ik_unreachable", f"{label}: {exc}") from None
