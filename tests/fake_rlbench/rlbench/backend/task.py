"""Fake Task base: RLBench's hook names, with a tiny generic behaviour per task kind.

A task file sets ``KIND`` ('reach', 'push', 'pick' or 'place'), ``VARIATIONS`` and a description
template; objects are spheres placed with numpy's global RNG (as RLBench), waypoints are
computed from them, and success is checked from positions and the grasp.
"""

import re
from typing import List

import numpy as np
from pyrep.objects.shape import Shape

from rlbench.backend.exceptions import WaypointError

TABLE_Z = 0.752
COLORS = [('red', (1.0, 0.0, 0.0)), ('maroon', (0.5, 0.0, 0.0)), ('lime', (0.0, 1.0, 0.0)),
          ('green', (0.0, 0.5, 0.0)), ('blue', (0.0, 0.0, 1.0)), ('navy', (0.0, 0.0, 0.5)),
          ('yellow', (1.0, 1.0, 0.0)), ('cyan', (0.0, 1.0, 1.0)), ('magenta', (1.0, 0.0, 1.0)),
          ('silver', (0.75, 0.75, 0.75)), ('gray', (0.5, 0.5, 0.5)), ('orange', (1.0, 0.5, 0.0)),
          ('olive', (0.5, 0.5, 0.0)), ('purple', (0.5, 0.0, 0.5)), ('teal', (0, 0.5, 0.5)),
          ('azure', (0.0, 0.5, 1.0)), ('violet', (0.5, 0.0, 1.0)), ('rose', (1.0, 0.0, 0.5)),
          ('black', (0.0, 0.0, 0.0)), ('white', (1.0, 1.0, 1.0))]


class Waypoint(object):
    def __init__(self, position, ext: str = ''):
        self.position = np.asarray(position, dtype=np.float64)
        self._ext = ext
        self.skip = False

    def get_ext(self) -> str:
        return self._ext

    def start_of_path(self):
        pass

    def end_of_path(self):
        pass


class Task(object):
    KIND = 'pick'
    VARIATIONS = 1
    DESCRIPTION = 'do the task'
    OBJECT = 'object'
    GOAL = 'goal'
    # fake only: the share of episodes whose demo ends unsuccessful (RLBench DemoError)
    fail_probability = 0.0

    def __init__(self, pyrep, robot, name: str = None):
        self.pyrep = pyrep
        self.robot = robot
        self.name = name or re.sub(r'(?<!^)(?=[A-Z])', '_', self.__class__.__name__).lower()
        self._graspable = []
        self._doomed = False
        self._pressed = False
        self._index = 0

    # --- RLBench hooks -----------------------------------------------------------------------
    def get_name(self) -> str:
        return self.name

    def load(self):
        self.obj = Shape(self.OBJECT, radius=0.03)
        self.distractor = Shape(self.OBJECT + '_distractor', radius=0.03)
        self.goal = Shape(self.GOAL, radius=0.05, color=(0.2, 0.2, 0.2))
        self._graspable = [self.obj]

    def unload(self):
        pass

    def init_task(self) -> None:
        pass

    def variation_count(self) -> int:
        return self.VARIATIONS

    def init_episode(self, index: int) -> List[str]:
        self._index = index
        self._pressed = False
        name, rgb = COLORS[index % len(COLORS)]
        self.obj.set_color(rgb)
        self.distractor.set_color(COLORS[(index + 1) % len(COLORS)][1])
        z_obj = TABLE_Z + 0.03 if self.KIND != 'reach' else 0.0
        xy = [np.random.uniform([0.0, -0.3], [0.4, 0.3]) for _ in range(3)]
        obj_z = z_obj if self.KIND != 'reach' else np.random.uniform(0.85, 1.25)
        self.obj.set_position([xy[0][0], xy[0][1], obj_z])
        self.distractor.set_position([xy[1][0], xy[1][1] + 0.0, TABLE_Z + 0.03])
        self.goal.set_position([xy[2][0], xy[2][1], TABLE_Z + 0.05])
        self._doomed = bool(np.random.rand() < self.fail_probability)
        d = self.DESCRIPTION.format(color=name)
        return [d, 'please ' + d, d + ' now']

    def get_low_dim_state(self) -> np.ndarray:
        return np.concatenate([self.obj.get_position(), self.distractor.get_position(),
                               self.goal.get_position()])

    def get_graspable_objects(self):
        return list(self._graspable)

    def get_waypoints(self) -> List[Waypoint]:
        p, g = self.obj.get_position(), self.goal.get_position()
        up = np.array([0.0, 0.0, 0.12])
        if self.KIND == 'reach':
            return [Waypoint(p)]
        if self.KIND == 'push':
            return [Waypoint(p + up), Waypoint(p + [0, 0, 0.01])]
        wps = [Waypoint(p + up), Waypoint(p, 'close_gripper()'), Waypoint(p + 2 * up)]
        if self.KIND == 'place':
            wps += [Waypoint(g + up + [0, 0, 0.04]), Waypoint(g + [0, 0, 0.06], 'open_gripper()'),
                    Waypoint(g + up + [0, 0, 0.08])]
        return wps

    def step(self) -> None:
        tip = self.robot.arm.get_tip().get_position()
        for obj in self.robot.gripper.get_grasped_objects():
            obj.set_position(tip)
        if self.KIND == 'push' and np.linalg.norm(tip - self.obj.get_position()) < 0.03:
            self._pressed = True
        if self.KIND in ('pick', 'place') and not self.robot.gripper.get_grasped_objects():
            # released objects fall to the table (or onto the goal)
            for obj in (self.obj, self.distractor):
                p = obj.get_position()
                if p[2] > TABLE_Z + 0.03 + 1e-9:
                    on_goal = np.linalg.norm(p[:2] - self.goal.get_position()[:2]) < 0.06
                    obj.set_position([p[0], p[1], TABLE_Z + (0.1 if on_goal else 0.03)])

    def success(self):
        if self._doomed:
            return False, False
        tip = self.robot.arm.get_tip().get_position()
        p = self.obj.get_position()
        grasped = self.obj in self.robot.gripper.get_grasped_objects()
        if self.KIND == 'reach':
            ok = np.linalg.norm(tip - p) < 0.03
        elif self.KIND == 'push':
            ok = self._pressed
        elif self.KIND == 'pick':
            ok = grasped and p[2] > TABLE_Z + 0.15
        else:
            ok = (not grasped and np.linalg.norm(p[:2] - self.goal.get_position()[:2]) < 0.06)
        return bool(ok), bool(ok)

    def reward(self):
        return None

    def validate(self):
        for wp in self.get_waypoints():
            if wp.position[2] < TABLE_Z:
                raise WaypointError('waypoint below the table', self)

    def cleanup(self) -> None:
        pass

    def cleanup_(self) -> None:
        self.robot.gripper.release()
        self.cleanup()

    def restore_state(self, state) -> None:
        pass

    def get_state(self):
        return None

    def is_static_workspace(self) -> bool:
        return False

    def should_repeat_waypoints(self) -> bool:
        return False

    def base_rotation_bounds(self):
        return (0.0, 0.0, -3.14 / 4.), (0.0, 0.0, 3.14 / 4.)

    def decorate_observation(self, observation):
        return observation

    def set_initial_objects_in_scene(self):
        pass
