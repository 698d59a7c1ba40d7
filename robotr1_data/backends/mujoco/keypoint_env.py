"""Closed-loop keypoint execution in the embedded MuJoCo backend (``eval-sim``).

Targets move the arm with the expert's own planner and gripper actions (``controller.py``), and
the task's success and failure conditions are checked after every 0.05 s control step, so an
episode ends on the step it is decided. The task's expert waypoints are known here: the oracle
replays them and the evaluation record compares every prediction with the next one.
"""

from __future__ import annotations

import copy
from typing import Callable, List, Optional, Tuple

import numpy as np

from robotr1_data.backends.mujoco.controller import ControllerConfig, KeypointController
from robotr1_data.backends.protocols import Closing, KeypointReport


class MujocoKeypointEnv(Closing):
    frames_per_step = True

    def __init__(self, sim, controller: Optional[KeypointController] = None,
                 observe_images: bool = False, range_margin: float = 0.05):
        self.sim = sim
        self.controller = controller or KeypointController(sim)
        self.observe_images = observe_images
        self.range_margin = range_margin  # m beyond the workspace box still accepted
        self.last = KeypointReport("none")
        self._waypoints: List = []
        self._progress = 0
        self._hook: Optional[Callable[[], None]] = None

    @classmethod
    def for_task(cls, task: str, cameras=(), image_size=(224, 224), observe_images=False,
                 max_steps_per_keypoint=120, range_margin=0.05,
                 tessellation=None) -> "MujocoKeypointEnv":
        from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
        from robotr1_data.tasks.registry import get_task

        sim = MujocoSim(get_task(task), cameras=cameras, image_size=tuple(image_size), rgb=True,
                        depth=False, mask=False, tessellation=tessellation)
        ctl = KeypointController(sim, ControllerConfig(max_steps=max_steps_per_keypoint))
        return cls(sim, ctl, observe_images=observe_images, range_margin=range_margin)

    # --- KeypointEnv ----------------------------------------------------------------------
    def variation_count(self) -> int:
        return self.sim.task.variation_count()

    def reset(self, variation: int, seed: int) -> Tuple[List[str], dict]:
        descriptions = self.sim.reset(variation, np.random.default_rng(seed))
        self._waypoints = copy.deepcopy(list(self.sim.task.waypoints))
        self._progress = 0
        self.last = KeypointReport("none")
        return descriptions, self._observe()

    def execute(self, target):
        task = self.sim.task
        ended = {"success": False, "failed": False}

        def on_step() -> bool:
            if self._hook is not None:
                self._hook()
            if task.success()[0]:
                ended["success"] = True
                return True
            if task.failed():
                ended["failed"] = True
                return True
            return False

        res = self.controller.execute(target, on_step)
        self.last = KeypointReport(res.status, res.steps, round(res.tracking_error, 5))
        if res.status == "unreachable":
            return self._observe(), False, False, res.detail
        wp = self.expert_target()
        if wp is not None and np.linalg.norm(self.sim.tcp_position() - wp) <= self.controller.expert.tolerance:
            self._progress += 1
        return self._observe(), ended["success"], ended["success"] or ended["failed"], None

    def default_quat(self) -> np.ndarray:
        return self.controller.default_quat()

    def expert_waypoints(self) -> List:
        return self._waypoints

    def expert_target(self) -> Optional[np.ndarray]:
        p = self._progress
        return np.asarray(self._waypoints[p].pos, float) if p < len(self._waypoints) else None

    def check_target(self, xyz: np.ndarray) -> Optional[str]:
        """Non-finite or outside the workspace box (+ ``range_margin``): not worth planning."""
        from robotr1_data.qa.distractors import Workspace

        if not np.all(np.isfinite(xyz)):
            return "target is not finite"
        box = Workspace()
        lo, hi = np.asarray(box.low) - self.range_margin, np.asarray(box.high) + self.range_margin
        if np.any(xyz < lo) or np.any(xyz > hi):
            return (f"target {np.round(xyz, 3).tolist()} outside the workspace "
                    f"{np.round(lo, 3).tolist()}..{np.round(hi, 3).tolist()}")
        return None

    def set_frame_hook(self, hook: Optional[Callable[[], None]]) -> None:
        self._hook = hook

    def render(self) -> dict:
        return self.sim.render()

    def camera_parameters(self) -> dict:
        return self.sim.camera_parameters()

    # -------------------------------------------------------------------------------------
    def _observe(self) -> dict:
        obs = {"gripper_pose": self.sim.tcp_pose(),
               "gripper_open": 1.0 if self.controller.gripper_open else 0.0,
               "joint_positions": np.asarray(self.sim.arm_target, float).copy()}
        if self.observe_images:
            obs.update(self.sim.render())
        return obs
