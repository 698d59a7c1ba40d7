from abc import abstractmethod

import numpy as np
from pyrep.errors import ConfigurationPathError

from rlbench.backend.exceptions import InvalidActionError
from rlbench.const import SUPPORTED_ROBOTS


def assert_action_shape(action: np.ndarray, expected_shape: tuple):
    if np.shape(action) != expected_shape:
        raise InvalidActionError(
            'Expected the action shape to be: %s, but was shape: %s' % (
                str(expected_shape), str(np.shape(action))))


def assert_unit_quaternion(quat):
    if not np.isclose(np.linalg.norm(quat), 1.0):
        raise InvalidActionError('Action contained non unit quaternion!')


class ArmActionMode(object):

    @abstractmethod
    def action(self, scene, action: np.ndarray):
        pass

    def action_step(self, scene, action: np.ndarray):
        pass

    def action_pre_step(self, scene, action: np.ndarray):
        pass

    def action_post_step(self, scene, action: np.ndarray):
        pass

    @abstractmethod
    def action_shape(self, scene):
        pass

    def set_control_mode(self, robot):
        robot.arm.set_control_loop_enabled(True)


class JointVelocity(ArmActionMode):
    """Control the joint velocities of the arm."""

    def action(self, scene, action: np.ndarray):
        assert_action_shape(action, self.action_shape(scene))
        scene.robot.arm.set_joint_target_velocities(action)
        scene.step()
        scene.robot.arm.set_joint_target_velocities(np.zeros_like(action))

    def action_shape(self, scene) -> tuple:
        return SUPPORTED_ROBOTS[scene.robot_setup][2],

    def set_control_mode(self, robot):
        robot.arm.set_control_loop_enabled(False)
        robot.arm.set_motor_locked_at_zero_velocity(True)


class JointPosition(ArmActionMode):

    def __init__(self, absolute_mode: bool = True):
        self._absolute_mode = absolute_mode

    def action(self, scene, action: np.ndarray):
        raise NotImplementedError('not in the fake')

    def action_shape(self, scene) -> tuple:
        return SUPPORTED_ROBOTS[scene.robot_setup][2],


class EndEffectorPoseViaPlanning(ArmActionMode):
    """High-level action where target pose is given and reached via planning."""

    def __init__(self, absolute_mode: bool = True, frame: str = 'world',
                 collision_checking: bool = False):
        self._absolute_mode = absolute_mode
        self._frame = frame
        self._collision_checking = collision_checking
        self._robot_shapes = None
        if frame not in ['world', 'end effector']:
            raise ValueError("Expected frame to one of: 'world, 'end effector'")

    def _quick_boundary_check(self, scene, action: np.ndarray):
        pos_to_check = action[:3]
        if not scene.check_target_in_workspace(pos_to_check):
            raise InvalidActionError('A path could not be found because the '
                                     'target is outside of workspace.')

    def action(self, scene, action: np.ndarray):
        assert_action_shape(action, (7,))
        assert_unit_quaternion(action[3:])
        if not self._absolute_mode or self._frame != 'world':
            raise NotImplementedError('the fake supports absolute world-frame poses only')
        self._quick_boundary_check(scene, action)
        try:
            path = scene.robot.arm.get_path(
                action[:3], quaternion=action[3:], ignore_collisions=not self._collision_checking,
                relative_to=None, trials=100, max_configs=10, max_time_ms=10,
                trials_per_goal=5, algorithm=None)
        except ConfigurationPathError as e:
            raise InvalidActionError(
                'A path could not be found. Most likely due to the target '
                'being inaccessible or a collison was detected.') from e
        done = False
        while not done:
            done = path.step()
            scene.step()
            success, terminate = scene.task.success()
            if success:
                break

    def action_shape(self, scene) -> tuple:
        return 7,
