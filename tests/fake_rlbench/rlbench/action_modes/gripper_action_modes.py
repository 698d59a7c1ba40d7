from abc import abstractmethod

import numpy as np

from rlbench.backend.exceptions import InvalidActionError


def assert_action_shape(action: np.ndarray, expected_shape: tuple):
    if np.shape(action) != expected_shape:
        raise InvalidActionError(
            'Expected the action shape to be: %s, but was shape: %s' % (
                str(expected_shape), str(np.shape(action))))


class GripperActionMode(object):

    @abstractmethod
    def action(self, scene, action: np.ndarray):
        pass

    @abstractmethod
    def action_shape(self, scene):
        pass


class Discrete(GripperActionMode):
    """Action values > 0.5 are discretised to 1 (open), and values < 0.5 to 0 (closed)."""

    def __init__(self, attach_grasped_objects: bool = True, detach_before_open: bool = True):
        self._attach_grasped_objects = attach_grasped_objects
        self._detach_before_open = detach_before_open

    def _actuate(self, action, scene):
        done = False
        while not done:
            done = scene.robot.gripper.actuate(action, velocity=0.2)
            scene.pyrep.step()
            scene.task.step()

    def action(self, scene, action: np.ndarray):
        assert_action_shape(action, self.action_shape(scene.robot))
        if 0.0 > action[0] > 1.0:
            raise InvalidActionError('Gripper action expected to be within 0 and 1.')
        open_condition = all(x > 0.9 for x in scene.robot.gripper.get_open_amount())
        current_ee = 1.0 if open_condition else 0.0
        action = float(action[0] > 0.5)
        if current_ee != action:
            if not self._detach_before_open:
                self._actuate(action, scene)
            if action == 0.0 and self._attach_grasped_objects:
                for g_obj in scene.task.get_graspable_objects():
                    scene.robot.gripper.grasp(g_obj)
            else:
                scene.robot.gripper.release()
            if self._detach_before_open:
                self._actuate(action, scene)
            if action == 1.0:
                for _ in range(10):
                    scene.pyrep.step()
                    scene.task.step()

    def action_shape(self, scene) -> tuple:
        return 1,


class GripperJointPosition(GripperActionMode):

    def __init__(self, attach_grasped_objects: bool = True, detach_before_open: bool = True,
                 absolute_mode: bool = True):
        self._absolute_mode = absolute_mode

    def action(self, scene, action: np.ndarray):
        raise NotImplementedError('not in the fake')

    def action_shape(self, scene) -> tuple:
        return 1,
