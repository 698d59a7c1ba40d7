"""Execute one keypoint target in MuJoCo: IK, an interpolated path, the gripper action.

The controller moves exactly like the expert that recorded the training demos
(``robotr1_data.expert.Expert``): its planner (``planner.plan_to``), its settle steps, and its
gripper action (close: ``try_grasp`` every step; open: ``release``). So the oracle replays the
expert's demo and every other policy is judged on the same footing.

A target without ``linear`` moves in a straight line when it is within ``linear_within`` of the
gripper (short moves such as descending onto an object), otherwise through joint space. Every
control step calls ``on_step()``; when it returns True (success or a failure condition) the
keypoint stops there. A keypoint never takes more than ``max_steps`` control steps.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from robotr1_data.errors import DemoError
from robotr1_data.expert import Expert
from robotr1_data.backends.mujoco.mujoco_sim import FINGER_MAX
from robotr1_data.tasks.base import default_approach_quat


@dataclasses.dataclass
class ControllerConfig:
    joint_speed: float = 1.0  # rad/s, the expert's
    linear_speed: float = 0.2  # m/s along straight lines, the expert's
    settle_steps: int = 2  # steps holding the goal before the gripper acts
    gripper_steps: int = 4  # steps for the fingers to open or close
    hold_steps: int = 5  # steps a "hold" target waits
    max_steps: int = 120  # control steps per keypoint (6 s at 0.05 s)
    linear_within: float = 0.12  # m: unspecified targets this close go in a straight line


@dataclasses.dataclass
class ExecResult:
    steps: int
    status: str  # "done" | "stopped" (on_step said stop) | "unreachable" | "step_budget"
    tracking_error: float  # m, TCP to target after the move
    detail: str = ""


class KeypointController:
    def __init__(self, sim, config: Optional[ControllerConfig] = None, ik=None):
        self.sim = sim
        self.config = config or ControllerConfig()
        c = self.config
        self.expert = Expert(sim, ik=ik, joint_speed=c.joint_speed, linear_speed=c.linear_speed,
                             settle_steps=c.settle_steps, gripper_steps=c.gripper_steps)

    @property
    def gripper_open(self) -> bool:
        """The commanded gripper state (RLBench: open when more than 90% open)."""
        return bool(self.sim.finger_target > 0.9 * FINGER_MAX)

    def default_quat(self) -> np.ndarray:
        return default_approach_quat(self.sim.task)

    def execute(self, target, on_step: Callable[[], bool] = lambda: False) -> ExecResult:
        """Move to ``target`` (a ``KeypointTarget``-shaped object), then set the gripper."""
        sim, c = self.sim, self.config
        steps = 0

        def advance(arm=None, fingers=None, grasp=False) -> bool:
            nonlocal steps
            sim.step(arm, fingers)
            steps += 1
            if grasp:
                sim.try_grasp()
            return bool(on_step())

        if target.hold:
            for _ in range(c.hold_steps):
                if advance():
                    return ExecResult(steps, "stopped", 0.0)
            return ExecResult(steps, "done", 0.0)

        quat = target.quat if target.quat is not None else self.default_quat()
        linear = target.linear
        if linear is None:
            linear = bool(np.linalg.norm(target.xyz - sim.tcp_position()) <= c.linear_within)
        try:
            path = self.expert.plan(target.xyz, quat, linear,
                                    label=f"target {np.round(target.xyz, 3).tolist()}")
        except DemoError as err:
            return ExecResult(0, "unreachable", float(np.linalg.norm(target.xyz - sim.tcp_position())),
                              detail=str(err))
        budget_hit = False
        for q in list(path) + [path[-1]] * c.settle_steps:
            if steps >= c.max_steps:
                budget_hit = True
                break
            if advance(arm=q):
                return ExecResult(steps, "stopped", self._error(target))
        error = self._error(target)
        if budget_hit:
            return ExecResult(steps, "step_budget", error, detail=f"path longer than {c.max_steps} steps")
        want_open = target.gripper_open
        if want_open != self.gripper_open:
            if want_open:
                sim.release()
            for _ in range(c.gripper_steps):
                if steps >= c.max_steps:
                    return ExecResult(steps, "step_budget", error, detail="no steps left for the gripper")
                if want_open:
                    stop = advance(fingers=FINGER_MAX * float(np.clip(target.open_amount, 0.0, 1.0)))
                else:
                    stop = advance(fingers=0.0, grasp=True)
                if stop:
                    return ExecResult(steps, "stopped", error)
        return ExecResult(steps, "done", error)

    def _error(self, target) -> float:
        return float(np.linalg.norm(self.sim.tcp_position() - target.xyz))
