"""Fake gripper: an open amount in 0..1 that moves at a fixed rate; grasp attaches objects."""

import numpy as np

from pyrep.objects.object import Object

FINGER_MAX = 0.04
GRASP_RADIUS = 0.045


class Gripper(Object):
    def __init__(self, count: int = 0, name: str = "Panda_gripper", joint_names=None):
        super().__init__(name)
        self._open = 1.0
        self._grasped = []
        self._arm = None  # set by the fake Robot so grasp() can test proximity
        self.joints = [Object(name + "_joint1"), Object(name + "_joint2")]

    def actuate(self, amount: float, velocity: float) -> bool:
        step = max(0.05, min(1.0, velocity * 2.5))
        if self._open < amount:
            self._open = min(amount, self._open + step)
        else:
            self._open = max(amount, self._open - step)
        return abs(self._open - amount) < 1e-9

    def get_open_amount(self):
        return [self._open, self._open]

    def get_joint_positions(self):
        return [FINGER_MAX * self._open, FINGER_MAX * self._open]

    def set_joint_positions(self, positions, disable_dynamics: bool = False):
        self._open = float(np.mean(positions)) / FINGER_MAX

    def set_joint_target_velocities(self, velocities):
        pass

    def get_touch_sensor_forces(self):
        return [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]

    def grasp(self, obj) -> bool:
        tip = self._arm.get_tip().get_position()
        if np.linalg.norm(obj.get_position() - tip) <= GRASP_RADIUS and obj not in self._grasped:
            self._grasped.append(obj)
            return True
        return False

    def release(self) -> None:
        self._grasped = []

    def get_grasped_objects(self):
        return list(self._grasped)

    def get_configuration_tree(self):
        return ("gripper", self._open)
