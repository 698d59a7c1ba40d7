"""Fake arm: the tip is the state; joint values are a fixed linear function of it."""

import numpy as np

from pyrep.errors import ConfigurationPathError
from pyrep.objects.object import Object

DT = 0.05
BASE = np.array([-0.30, 0.0, 0.752])
REACH = 0.90
TABLE_Z = 0.752
HOME_TIP = np.array([0.278, -0.008, 1.471])
HOME_JOINTS = np.array([0.0, 0.175, 0.0, -0.873, 0.0, 1.222, 0.785])
# d(joints)/d(tip): any fixed full-rank map gives plausible, smooth joint trajectories.
_J = np.array([[0.0, 2.0, 0.0], [1.5, 0.0, -0.8], [0.0, 0.5, 0.0], [1.2, 0.0, 1.5],
               [0.0, -0.4, 0.0], [-0.6, 0.0, 1.1], [0.0, 1.0, 0.3]])
TIP_QUAT = np.array([0.0, 0.9926, 0.0, 0.1216]) / np.linalg.norm([0.0, 0.9926, 0.0, 0.1216])


def quat_to_matrix(q):
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class Joint(object):
    def __init__(self, arm, i):
        self._arm, self._i = arm, i
        self._control_loop = True

    def is_control_loop_enabled(self) -> bool:
        return self._control_loop

    def get_pose(self, relative_to=None):
        p = BASE + (self._i + 1) / 8.0 * (self._arm._tip_pos - BASE)
        return np.concatenate([p, TIP_QUAT])


class Tip(Object):
    def __init__(self, arm):
        super().__init__("Panda_tip")
        self._arm = arm

    def get_position(self, relative_to=None):
        return self._arm._tip_pos.copy()

    def get_pose(self, relative_to=None):
        return np.concatenate([self._arm._tip_pos, self._arm._tip_quat])

    def get_quaternion(self, relative_to=None):
        return self._arm._tip_quat.copy()

    def get_matrix(self, relative_to=None):
        m = np.eye(4)
        m[:3, :3] = quat_to_matrix(self._arm._tip_quat)
        m[:3, 3] = self._arm._tip_pos
        return m


class ArmConfigurationPath(object):
    """A straight line with a smooth (zero end-velocity) profile, one step per call."""

    def __init__(self, arm, target, quat):
        self._arm = arm
        self._start = arm._tip_pos.copy()
        self._target = np.asarray(target, float)
        self._quat = np.asarray(quat, float)
        dist = np.linalg.norm(self._target - self._start)
        self._n = max(4, int(np.ceil(dist / 0.02)))
        self._k = 0

    def step(self) -> bool:
        self._k = min(self._k + 1, self._n)
        s = self._k / self._n
        s = 3 * s * s - 2 * s * s * s
        self._arm._tip_pos = self._start + s * (self._target - self._start)
        self._arm._tip_quat = self._quat
        return self._k >= self._n

    def get_executed_joint_position_action(self):
        return self._arm.get_joint_positions()

    def visualize(self):
        pass

    def clear_visualization(self):
        pass


class Arm(Object):
    def __init__(self, count: int = 0, name: str = "Panda", num_joints: int = 7):
        super().__init__(name)
        self._tip_pos = HOME_TIP.copy()
        self._tip_quat = TIP_QUAT.copy()
        self._prev_joints = self.get_joint_positions()
        self._velocities = np.zeros(num_joints)
        self.joints = [Joint(self, i) for i in range(num_joints)]
        self._tip = Tip(self)

    # called by the fake PyRep after each physics step
    def _after_step(self):
        j = self.get_joint_positions()
        self._velocities = (j - self._prev_joints) / DT
        self._prev_joints = j

    def get_tip(self):
        return self._tip

    def get_joint_positions(self):
        return HOME_JOINTS + _J @ (self._tip_pos - HOME_TIP)

    def get_joint_velocities(self):
        return self._velocities.copy()

    def get_joint_forces(self):
        return np.zeros(len(self.joints))

    def get_joint_target_velocities(self):
        return np.zeros(len(self.joints))

    def set_joint_positions(self, positions, disable_dynamics: bool = False):
        # inverse of the linear map (least squares) -- used to reset to the start pose
        delta = np.linalg.lstsq(_J, np.asarray(positions) - HOME_JOINTS, rcond=None)[0]
        self._tip_pos = HOME_TIP + delta
        self._tip_quat = TIP_QUAT.copy()
        self._prev_joints = self.get_joint_positions()
        self._velocities = np.zeros(len(self.joints))

    def set_joint_target_velocities(self, velocities):
        pass

    def set_joint_target_positions(self, positions):
        pass

    def set_control_loop_enabled(self, value: bool):
        for j in self.joints:
            j._control_loop = value

    def set_motor_locked_at_zero_velocity(self, value: bool):
        pass

    def get_objects_in_tree(self, *args, **kwargs):
        return []

    def check_arm_collision(self, obj=None) -> bool:
        return False

    def get_configuration_tree(self):
        return ("arm", self._tip_pos.copy())

    def get_path(self, position, euler=None, quaternion=None, ignore_collisions=False,
                 trials=300, max_configs=1, distance_threshold=0.65, max_time_ms=10,
                 trials_per_goal=1, algorithm=None, relative_to=None):
        position = np.asarray(position, float)
        if np.linalg.norm(position - BASE) > REACH or position[2] < TABLE_Z + 0.01:
            raise ConfigurationPathError("Could not create path.")
        quat = self._tip_quat if quaternion is None else np.asarray(quaternion, float)
        return ArmConfigurationPath(self, position, quat)
