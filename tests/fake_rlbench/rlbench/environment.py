import importlib
from os.path import abspath, dirname, exists, join
from typing import List, Type

from pyrep import PyRep
from pyrep.objects import VisionSensor

from rlbench.action_modes.action_mode import ActionMode
from rlbench.backend.robot import Robot
from rlbench.backend.scene import Scene
from rlbench.backend.task import Task
from rlbench.const import SUPPORTED_ROBOTS
from rlbench.demo import Demo
from rlbench.observation_config import ObservationConfig
from rlbench.task_environment import TaskEnvironment

DIR_PATH = dirname(abspath(__file__))
TTT_FILE = 'task_design.ttt'


class Environment(object):
    """Each environment has a scene."""

    def __init__(self,
                 action_mode: ActionMode,
                 dataset_root: str = '',
                 obs_config: ObservationConfig = ObservationConfig(),
                 headless: bool = False,
                 static_positions: bool = False,
                 robot_setup: str = 'panda',
                 randomize_every=None,
                 frequency: int = 1,
                 visual_randomization_config=None,
                 dynamics_randomization_config=None,
                 attach_grasped_objects: bool = True,
                 shaped_rewards: bool = False):
        self._dataset_root = dataset_root
        self._action_mode = action_mode
        self._obs_config = obs_config
        self._headless = headless
        self._static_positions = static_positions
        self._robot_setup = robot_setup.lower()
        self._attach_grasped_objects = attach_grasped_objects
        self._shaped_rewards = shaped_rewards
        if robot_setup not in SUPPORTED_ROBOTS.keys():
            raise ValueError('robot_configuration must be one of %s' %
                             str(SUPPORTED_ROBOTS.keys()))
        self._check_dataset_structure()
        self._pyrep = None
        self._robot = None
        self._scene = None
        self._prev_task = None

    def _check_dataset_structure(self):
        if len(self._dataset_root) > 0 and not exists(self._dataset_root):
            raise RuntimeError('Data set root does not exists: %s' % self._dataset_root)

    def _string_to_task(self, task_name: str):
        task_name = task_name.replace('.py', '')
        try:
            class_name = ''.join([w[0].upper() + w[1:] for w in task_name.split('_')])
            mod = importlib.import_module("rlbench.tasks.%s" % task_name)
        except Exception as e:
            raise RuntimeError(
                'Tried to interpret %s as a task, but failed. Only valid tasks '
                'should belong in the tasks/ folder' % task_name) from e
        return getattr(mod, class_name)

    def launch(self):
        if self._pyrep is not None:
            raise RuntimeError('Already called launch!')
        self._pyrep = PyRep()
        self._pyrep.launch(join(DIR_PATH, TTT_FILE), headless=self._headless)
        arm_class, gripper_class, _ = SUPPORTED_ROBOTS[self._robot_setup]
        arm, gripper = arm_class(), gripper_class()
        self._robot = Robot(arm, gripper)
        self._scene = Scene(self._pyrep, self._robot, self._obs_config, self._robot_setup)
        self._action_mode.arm_action_mode.set_control_mode(self._robot)

    def shutdown(self):
        if self._pyrep is not None:
            self._pyrep.shutdown()
        self._pyrep = None

    def get_task(self, task_class: Type[Task]) -> TaskEnvironment:
        if self._pyrep is None:
            self.launch()
        self._scene.unload()
        task = task_class(self._pyrep, self._robot)
        self._prev_task = task
        return TaskEnvironment(
            self._pyrep, self._robot, self._scene, task,
            self._action_mode, self._dataset_root, self._obs_config,
            self._static_positions, self._attach_grasped_objects, self._shaped_rewards)

    @property
    def action_shape(self):
        return self._action_mode.action_shape(self._scene),

    def get_demos(self, task_name: str, amount: int, variation_number=0, image_paths=False,
                  random_selection: bool = True, from_episode_number: int = 0) -> List[Demo]:
        raise RuntimeError("Can't ask for a stored demo when no dataset root provided.")

    def get_scene_data(self) -> dict:
        raise NotImplementedError('not in the fake')
