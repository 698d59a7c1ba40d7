"""``oracle``: the expert's own next keypoint, read from the task's waypoints.

After ``sim.reset`` the task holds its waypoints (RLBench's ``waypointN``); keypoint ``k`` of the
oracle is waypoint ``k`` with its orientation, straight-line flag and the gripper state its action
leaves (``close`` -> closed, ``open`` -> open, none -> unchanged). Past the last waypoint it holds
still, so the evaluator's extra steps give the success conditions time, as the expert's do.
"""

from __future__ import annotations

import numpy as np

from robotr1_train.policies.base import KeypointTarget, Observation, Policy


class OraclePolicy(Policy):
    name = "oracle"

    def reset(self, context) -> None:
        super().reset(context)
        self.waypoints = list(context.expert_waypoints)
        self.index = 0
        self.gripper_open = True

    def predict(self, obs: Observation) -> KeypointTarget:
        if self.index >= len(self.waypoints):
            return KeypointTarget(obs.state, obs.gripper_open, hold=True)
        wp = self.waypoints[self.index]
        self.index += 1
        if wp.gripper == "close":
            self.gripper_open = False
        elif wp.gripper == "open":
            self.gripper_open = True
        return KeypointTarget(np.asarray(wp.pos, float), self.gripper_open,
                              quat=np.asarray(wp.quat, float), linear=bool(wp.linear),
                              open_amount=float(wp.open_amount))
