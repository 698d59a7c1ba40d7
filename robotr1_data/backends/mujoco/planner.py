"""The motion planner the expert records with and the evaluation controller moves with.

``plan_to`` turns a gripper goal into joint targets, one per 0.05 s control step: a joint-space
path with a trapezoidal velocity profile, or (``linear``) a straight Cartesian line solved point
by point with mink IK. RLBench's demo planner does the same job with OMPL; ours needs no
collision checking because the tasks' waypoints are collision-free by construction.
"""

from __future__ import annotations

import math
from typing import List

import numpy as np

from robotr1_data.errors import DemoError
from robotr1_data.backends.mujoco.ik import IKError


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


def plan_to(sim, ik, pos: np.ndarray, quat: np.ndarray, linear: bool, label: str,
            joint_speed: float = 1.0, linear_speed: float = 0.2) -> List[np.ndarray]:
    """Joint targets from the commanded arm configuration to the gripper pose (``pos``,
    ``quat`` w, x, y, z); raises ``DemoError('ik_unreachable')`` naming ``label``."""
    dt = sim.control_dt
    q_start = sim.arm_target.copy()
    try:
        if not linear:
            q_goal = ik.solve(pos, quat, q_start, posture=ik.home_q)
            n = max(5, math.ceil(np.abs(q_goal - q_start).max() / (joint_speed * dt)))
            return [q_start + s * (q_goal - q_start) for s in trapezoid(n)]
        start = sim.tcp_pose()
        p0 = start[:3]
        q0 = np.array([start[6], start[3], start[4], start[5]])
        n = max(4, math.ceil(np.linalg.norm(pos - p0) / (linear_speed * dt)))
        fractions = trapezoid(n)
        # IK at every other point (and the last); the points between are joint-space
        # midpoints, which stay within micrometres of the line at ~1 cm spacing and halve the
        # expert's dominant cost when rendering is cheap.
        solved = {}
        q_prev = q_start
        for i in list(range(1, n, 2)) + [n - 1]:
            s = fractions[i]
            q_prev = ik.solve(p0 + s * (pos - p0), slerp(q0, quat, s), q_prev, posture=q_prev)
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
