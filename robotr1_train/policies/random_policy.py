"""``random``: a reachable random keypoint: xyz uniform in the workspace box (the same box the QA
distractors come from), a random top-down yaw, and a random gripper state. Draws the IK rejects
(solved from the current joints, as the controller will) are drawn again, so targets are reachable;
after ``max_draws`` rejections the last draw is returned and may fail as ``unreachable``.
Randomness comes from the episode's policy generator.
"""

from __future__ import annotations

import numpy as np

from robotr1_data.qa.distractors import Workspace
from robotr1_data.tasks.base import down_quat
from robotr1_train.policies.base import KeypointTarget, Observation, Policy


class RandomPolicy(Policy):
    name = "random"

    def __init__(self, workspace: Workspace = Workspace(), max_draws: int = 50):
        self.workspace = workspace
        self.max_draws = max_draws
        self._ik = None

    def _reachable(self, xyz, quat, q_seed) -> bool:
        from robotr1_data.backends.mujoco.ik import HOME_Q, IKError, PandaIK

        if self._ik is None:
            self._ik = PandaIK()
        try:
            self._ik.solve(xyz, quat, HOME_Q if q_seed is None else q_seed, posture=HOME_Q)
            return True
        except IKError:
            return False

    def predict(self, obs: Observation) -> KeypointTarget:
        rng = self.context.rng
        low, high = np.asarray(self.workspace.low), np.asarray(self.workspace.high)
        xyz, quat = None, None
        for _ in range(self.max_draws):
            xyz = rng.uniform(low, high)
            quat = down_quat(rng.uniform(-np.pi / 2, np.pi / 2))
            if self._reachable(xyz, quat, obs.joint_positions):
                break
        return KeypointTarget(xyz, bool(rng.integers(0, 2)), quat=quat, linear=False)

    def describe(self) -> dict:
        return {"name": self.name, "workspace": self.workspace.flat()}
